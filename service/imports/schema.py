"""The integrator mutations: ``importWorks`` (OpenAlex work records) and ``addWork`` (one work
from plain fields). Only an API key with scope ``import`` may call them."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.scalars import JSON

from service.accounts.models import ApiKey
from service.errors import Conflict, Forbidden, Unauthenticated
from service.graphql.context import Info
from service.graphql.relay import from_global_id, to_global_id
from service.imports.service import (
    IMPORT_SCOPE,
    AuthorRef,
    DuplicateWork,
    NewWork,
    TopicRef,
    VenueRef,
    integrations,
)
from service.imports.types import AddWorkPayload, ImportWorksPayload
from service.logging import log
from service.works.models import WorkType


@strawberry.input
class ImportWorksInput:
    records: list[JSON] = strawberry.field(
        description="OpenAlex work objects as the OpenAlex API and snapshot give them (either "
        "schema); at most BZPEER_IMPORT_MAX_RECORDS (500) per call, within the request body "
        "cap (BZPEER_MAX_BODY_BYTES)."
    )


@strawberry.input(description="An author by OpenAlex author id or ORCID iD (at least one).")
class AddWorkAuthorInput:
    openalex_id: str | None = strawberry.field(
        default=None, description="A5000180362 or https://openalex.org/A5000180362."
    )
    orcid: str | None = strawberry.field(
        default=None, description="0000-0001-7056-6323 or its https://orcid.org/ URL."
    )
    display_name: str | None = strawberry.field(
        default=None,
        description="The name as the work gives it; needed to create a researcher when no one "
        "has the id given.",
    )


@strawberry.input(
    description="Where the work appeared: the stored venue with this OpenAlex source id, else "
    "this ISSN-L, else this name; else a new venue."
)
class AddWorkVenueInput:
    display_name: str
    openalex_id: str | None = None
    issn_l: str | None = None


@strawberry.input(description="A stored topic, by its id or its OpenAlex id (one of them).")
class AddWorkTopicInput:
    id: strawberry.ID | None = None
    openalex_id: str | None = None
    score: float = 1.0


@strawberry.input
class AddWorkInput:
    title: str
    authors: list[AddWorkAuthorInput] = strawberry.field(description="In author-list order.")
    type: WorkType = WorkType.ARTICLE
    publication_year: int | None = None
    publication_date: dt.date | None = None
    doi: str | None = strawberry.field(
        default=None, description="Unique among works: a DOI already stored is CONFLICT."
    )
    arxiv_id: str | None = strawberry.field(
        default=None, description="Unique among works, as the DOI (2207.13955; versions are one)."
    )
    venue: AddWorkVenueInput | None = None
    abstract: str | None = None
    topics: list[AddWorkTopicInput] = strawberry.field(default_factory=list)


@strawberry.type
class ImportMutation:
    @strawberry.mutation(
        description="Import OpenAlex work records (API key with scope `import`): one result per "
        "record, in order. A record that cannot be imported is REJECTED with its reason and "
        "the others go on; a stored work changes only for a newer `updated_date`. One "
        "transaction; authors' counts, co-author edges, clusters and trust follow within "
        "seconds."
    )
    async def import_works(self, info: Info, input: ImportWorksInput) -> ImportWorksPayload:
        key = await _integrator(info)
        context = info.context
        result = await integrations.import_works(
            context.session, input.records, max_records=context.settings.import_max_records
        )
        payload = ImportWorksPayload.from_result(result)
        log.info(
            "imports.works",
            api_key=key.id,
            created=payload.created,
            updated=payload.updated,
            unchanged=payload.unchanged,
            rejected=payload.rejected,
        )
        return payload

    @strawberry.mutation(
        description="Add one work from plain fields (API key with scope `import`), its authors "
        "matched by OpenAlex author id or ORCID iD, created when unknown and named. The work "
        "gets no OpenAlex id; its DOI and arXiv id must be new (CONFLICT names the work that "
        "has it)."
    )
    async def add_work(self, info: Info, input: AddWorkInput) -> AddWorkPayload:
        key = await _integrator(info)
        new = NewWork(
            title=input.title,
            authors=[AuthorRef(a.openalex_id, a.orcid, a.display_name) for a in input.authors],
            type=input.type,
            publication_year=input.publication_year,
            publication_date=input.publication_date,
            doi=input.doi,
            arxiv_id=input.arxiv_id,
            venue=(
                VenueRef(input.venue.display_name, input.venue.openalex_id, input.venue.issn_l)
                if input.venue
                else None
            ),
            abstract=input.abstract,
            topics=[
                TopicRef(
                    topic_id=from_global_id(t.id, "Topic")[1] if t.id is not None else None,
                    openalex_id=t.openalex_id,
                    score=t.score,
                )
                for t in input.topics
            ],
        )
        try:
            added = await integrations.add_work(info.context.session, new)
        except DuplicateWork as exc:
            work_id = to_global_id("Work", exc.work.id)
            raise Conflict(
                f"{exc.message} It is {work_id}: {exc.work.title!r}.",
                **exc.extensions,
                workId=work_id,
            ) from exc
        log.info("imports.work_added", api_key=key.id, work_id=added.work.id)
        return AddWorkPayload.from_result(added)


async def _integrator(info: Info) -> ApiKey:
    """The API key of the call, when its scope is ``import``: UNAUTHENTICATED without a
    credential, FORBIDDEN for a signed-in person or a key of another scope. Calls count against
    the key's rate limit."""
    context = info.context
    key = context.api_key
    if key is None and context.viewer is None:
        raise Unauthenticated(
            f"Send an API key with scope `{IMPORT_SCOPE}` (Authorization: Bearer bzp_...)."
        )
    if key is None:
        raise Forbidden(
            f"Only an API key with scope `{IMPORT_SCOPE}` may import, not a signed-in account.",
            requiredScope=IMPORT_SCOPE,
        )
    if key.scope != IMPORT_SCOPE:
        raise Forbidden(
            f"This API key's scope is `{key.scope}`; importing needs `{IMPORT_SCOPE}`.",
            requiredScope=IMPORT_SCOPE,
        )
    await context.services.rate_limiter.hit(
        context.settings.rate_limit_imports_per_key, "imports", str(key.id)
    )
    return key
