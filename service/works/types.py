from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry import relay

from service.graphql.context import Info
from service.graphql.relay import Connection, LoadedNode, paged_connection
from service.institutions.types import Institution
from service.topics.types import Topic
from service.works import models
from service.works.repository import BY_TOPIC_SCORE

if TYPE_CHECKING:
    from service.researchers.types import Researcher

strawberry.enum(models.WorkType, name="WorkType")
strawberry.enum(models.VenueType, name="VenueType")


@strawberry.type(name="Venue", description="Where a work appeared: a journal, arXiv, a conference.")
class Venue(LoadedNode):
    loader_name = "venue_by_id"

    id: relay.NodeID[int]
    display_name: str
    type: models.VenueType
    issn_l: str | None
    openalex_id: str | None

    @classmethod
    def from_model(cls, m: models.Venue) -> Self:
        return cls(
            id=m.id,
            display_name=m.display_name,
            type=m.type,
            issn_l=m.issn_l,
            openalex_id=m.openalex_id,
        )


@strawberry.type(description="A researcher's place on a work's author list.")
class Authorship:
    position: int = strawberry.field(description="1-based order on the author list.")
    raw_author_name: str | None
    institutions: list[Institution] = strawberry.field(
        description="The institutions the work gives for this author."
    )
    researcher_id: strawberry.Private[int]

    @classmethod
    def from_model(cls, m: models.Authorship) -> Self:
        return cls(
            position=m.position,
            raw_author_name=m.raw_author_name,
            institutions=[Institution.from_model(i) for i in m.institutions],
            researcher_id=m.researcher_id,
        )

    @strawberry.field
    async def author(
        self, info: Info
    ) -> Annotated[Researcher, strawberry.lazy("service.researchers.types")]:
        from service.researchers.types import Researcher

        model = await info.context.loaders.researcher_by_id.load(self.researcher_id)
        assert model is not None  # authorships reference researchers by foreign key
        return Researcher.from_model(model)


@strawberry.type(name="Work")
class Work(LoadedNode):
    loader_name = "work_by_id"

    id: relay.NodeID[int]
    title: str
    abstract: str | None
    type: models.WorkType
    publication_year: int | None
    publication_date: dt.date | None
    doi: str | None
    arxiv_id: str | None
    openalex_id: str | None
    cited_by_count: int
    venue: Venue | None

    @classmethod
    def from_model(cls, m: models.Work) -> Self:
        return cls(
            id=m.id,
            title=m.title,
            abstract=m.abstract,
            type=m.type,
            publication_year=m.publication_year,
            publication_date=m.publication_date,
            doi=m.doi,
            arxiv_id=m.arxiv_id,
            openalex_id=m.openalex_id,
            cited_by_count=m.cited_by_count,
            venue=Venue.from_model(m.venue) if m.venue else None,
        )

    @strawberry.field(
        description="The author list, in order: the first 100 (`BZPEER_MAX_AUTHORS_PER_WORK`; "
        "OpenAlex cuts its lists there too)."
    )
    async def authorships(self, info: Info) -> list[Authorship]:
        authorships = await info.context.loaders.authorships_by_work.load(self.id)
        shown = authorships[: info.context.settings.max_authors_per_work]
        return [Authorship.from_model(a) for a in shown]

    @strawberry.field(description="The work's topics, the most relevant first.")
    async def topics(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Topic]:
        loaders = info.context.loaders
        return await paged_connection(
            info,
            BY_TOPIC_SCORE,
            loader=loaders.topic_page_by_work,
            parent_id=self.id,
            convert=Topic.from_model,
            count=lambda: loaders.topic_count_by_work.load(self.id),
            first=first,
            after=after,
            last=last,
            before=before,
        )
