"""What the integrator mutations answer: a result per imported record, and the work added."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Self

import strawberry

from service.graphql.context import Info
from service.imports import service
from service.imports.service import ImportStatus
from service.works.types import Work

if TYPE_CHECKING:
    from service.researchers.types import Researcher

strawberry.enum(
    ImportStatus,
    name="ImportStatus",
    description="What importWorks did with one record.",
)


@strawberry.type(
    description="An item of an imported record that was left out (an authorship without an "
    "author id) or repaired to fit (an author listed twice, folded into one authorship)."
)
class ImportNote:
    subject: str = strawberry.field(
        description="The OpenAlex id the note is about: the work, or an author or institution "
        "it names."
    )
    reason: str
    repaired: bool = strawberry.field(
        description="True: kept, changed to fit; false: left out of the work."
    )

    @classmethod
    def from_note(cls, note: service.ImportNote) -> Self:
        return cls(subject=note.subject, reason=note.reason, repaired=note.repaired)


@strawberry.type(description="The result of one record of importWorks, at its index.")
class ImportRecordResult:
    index: int = strawberry.field(description="The record's place in `records`, from 0.")
    openalex_id: str | None = strawberry.field(
        description="The record's OpenAlex work id (W...), when it has a readable one."
    )
    status: ImportStatus
    reason: str | None = strawberry.field(description="Why a REJECTED record was not imported.")
    notes: list[ImportNote] = strawberry.field(
        description="Items of the record left out or repaired; the record itself was imported."
    )
    work: Work | None = strawberry.field(
        description="The stored work (CREATED, UPDATED or UNCHANGED); null when REJECTED."
    )

    @classmethod
    def from_result(cls, result: service.RecordResult) -> Self:
        return cls(
            index=result.index,
            openalex_id=result.openalex_id,
            status=result.status,
            reason=result.reason,
            notes=[ImportNote.from_note(n) for n in result.notes],
            work=Work.from_model(result.work) if result.work is not None else None,
        )


@strawberry.type
class ImportWorksPayload:
    results: list[ImportRecordResult] = strawberry.field(
        description="One per record, in the order sent."
    )
    created: int
    updated: int
    unchanged: int
    rejected: int

    @classmethod
    def from_result(cls, result: service.ImportResult) -> Self:
        return cls(
            results=[ImportRecordResult.from_result(r) for r in result.results],
            created=result.count(ImportStatus.CREATED),
            updated=result.count(ImportStatus.UPDATED),
            unchanged=result.count(ImportStatus.UNCHANGED),
            rejected=result.count(ImportStatus.REJECTED),
        )


@strawberry.type(description="An author of addWork: the researcher matched or created.")
class AddedAuthor:
    created: bool = strawberry.field(
        description="True when no researcher had the id given and this call created one."
    )
    researcher_id: strawberry.Private[int]

    @strawberry.field
    async def researcher(
        self, info: Info
    ) -> Annotated[Researcher, strawberry.lazy("service.researchers.types")]:
        from service.researchers.types import Researcher

        model = await info.context.loaders.researcher_by_id.load(self.researcher_id)
        assert model is not None  # matched or created in this operation
        return Researcher.from_model(model)


@strawberry.type
class AddWorkPayload:
    work: Work
    authors: list[AddedAuthor] = strawberry.field(description="In author-list order.")

    @classmethod
    def from_result(cls, result: service.AddedWork) -> Self:
        return cls(
            work=Work.from_model(result.work),
            authors=[
                AddedAuthor(created=a.created, researcher_id=a.researcher.id)
                for a in result.authors
            ],
        )
