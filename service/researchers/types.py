from __future__ import annotations

from typing import Self

import strawberry
from strawberry import relay

from service.graphql.context import Info
from service.graphql.relay import Connection, LoadedNode, page_args, page_info, paged_connection
from service.institutions.types import Institution
from service.researchers import models
from service.researchers.repository import BY_TOPIC_WORKS, BY_WEIGHT
from service.topics.types import Topic
from service.trust.types import Trust
from service.works.repository import BY_RECENCY
from service.works.types import Work


@strawberry.type(description="Counters derived from the graph.")
class ResearcherCounts:
    works: int
    followers: int
    topics: int
    close_collaborators: int


@strawberry.type(description="A co-author in the researcher's own collaborator cluster.")
class CloseCollaboratorEdge:
    cursor: str
    node: Researcher
    weight: float = strawberry.field(
        description="Newman's collaboration weight: sum over joint works of 1/(authors - 1)."
    )


@strawberry.type
class CloseCollaboratorConnection:
    edges: list[CloseCollaboratorEdge]
    page_info: relay.PageInfo
    researcher_id: strawberry.Private[int]

    @strawberry.field
    async def total_count(self, info: Info) -> int:
        loader = info.context.loaders.close_collaborator_count_by_researcher
        return await loader.load(self.researcher_id)


@strawberry.type(name="Researcher", description="An author record.")
class Researcher(LoadedNode):
    loader_name = "researcher_by_id"

    id: relay.NodeID[int]
    display_name: str
    description: str | None
    orcid: str | None
    openalex_id: str | None
    open_to_collaborate: bool
    counts: ResearcherCounts
    trust: Trust | None = strawberry.field(
        description="The current trust snapshot; null until it is first computed."
    )
    affiliation_id: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, m: models.Researcher) -> Self:
        return cls(
            id=m.id,
            display_name=m.display_name,
            description=m.description,
            orcid=m.orcid,
            openalex_id=m.openalex_id,
            open_to_collaborate=m.open_to_collaborate,
            counts=ResearcherCounts(
                works=m.works_count,
                followers=m.followers_count,
                topics=m.topics_count,
                close_collaborators=m.close_collaborators_count,
            ),
            trust=Trust.from_model(m.trust) if m.trust else None,
            affiliation_id=m.affiliation_id,
        )

    @strawberry.field(description="Last known institution; null when none was imported.")
    async def affiliation(self, info: Info) -> Institution | None:
        if self.affiliation_id is None:
            return None
        model = await info.context.loaders.institution_by_id.load(self.affiliation_id)
        return Institution.from_model(model) if model else None

    # Until sign-in exists every request is anonymous, and an anonymous viewer neither follows
    # nor can claim: the page shows "Log in to claim".
    @strawberry.field(description="Whether the signed-in account follows this researcher.")
    def viewer_follows(self) -> bool:
        return False

    @strawberry.field(description="Whether the signed-in account may claim this record now.")
    def viewer_can_claim(self) -> bool:
        return False

    @strawberry.field(description="Works, newest first.")
    async def works(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Work]:
        loaders = info.context.loaders
        return await paged_connection(
            info,
            BY_RECENCY,
            loader=loaders.work_page_by_researcher,
            parent_id=self.id,
            convert=Work.from_model,
            count=lambda: loaders.work_count_by_researcher.load(self.id),
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(description="Topics of the researcher's works, the most frequent first.")
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
            BY_TOPIC_WORKS,
            loader=loaders.topic_page_by_researcher,
            parent_id=self.id,
            convert=Topic.from_model,
            count=lambda: loaders.topic_count_by_researcher.load(self.id),
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(
        description="Co-authors in this researcher's collaborator cluster, heaviest edge first."
    )
    async def close_collaborators(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> CloseCollaboratorConnection:
        request = page_args(info, BY_WEIGHT, first=first, after=after, last=last, before=before)
        page = await info.context.loaders.close_collaborator_page_by_researcher.load(
            (self.id, request)
        )
        edges = [
            CloseCollaboratorEdge(cursor=cursor, node=Researcher.from_model(m), weight=key[0])
            for m, cursor, key in zip(page.items, page.cursors, page.keys, strict=True)
        ]
        return CloseCollaboratorConnection(
            edges=edges,
            page_info=page_info(page),
            researcher_id=self.id,
        )
