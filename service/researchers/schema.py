from __future__ import annotations

import strawberry

from service.claims.service import claims
from service.errors import BadUserInput
from service.graphql.context import Info
from service.graphql.relay import node_by_id
from service.researchers.service import researchers
from service.researchers.types import Researcher


@strawberry.input
class UpdateProfileInput:
    description: str | None = None
    open_to_collaborate: bool | None = None


@strawberry.input
class SetOpenToCollaborateInput:
    open_to_collaborate: bool


@strawberry.type
class ProfilePayload:
    researcher: Researcher


@strawberry.type
class ResearcherMutation:
    @strawberry.mutation(description="Change your verified record's profile (claimant only).")
    async def update_profile(self, info: Info, input: UpdateProfileInput) -> ProfilePayload:
        return await _update(
            info, description=input.description, open_to_collaborate=input.open_to_collaborate
        )

    @strawberry.mutation(description="Say whether your verified record is open to collaborate.")
    async def set_open_to_collaborate(
        self, info: Info, input: SetOpenToCollaborateInput
    ) -> ProfilePayload:
        return await _update(info, description=None, open_to_collaborate=input.open_to_collaborate)


async def _update(
    info: Info, *, description: str | None, open_to_collaborate: bool | None
) -> ProfilePayload:
    session = info.context.session
    account = info.context.require_viewer()
    record = await claims.verified_record_of(session, account)
    researchers.update_profile(
        session, record, description=description, open_to_collaborate=open_to_collaborate
    )
    return ProfilePayload(researcher=Researcher.from_model(record))


@strawberry.type
class ResearcherQuery:
    @strawberry.field(
        description="One researcher by global id, ORCID iD or OpenAlex author id: give at most "
        "one. An unknown ORCID or OpenAlex id gives null; an unknown global id NOT_FOUND."
    )
    async def researcher(
        self,
        info: Info,
        id: strawberry.ID | None = None,
        orcid: str | None = None,
        openalex_id: str | None = None,
    ) -> Researcher | None:
        given = [
            name
            for name, v in (("id", id), ("orcid", orcid), ("openalexId", openalex_id))
            if v is not None
        ]
        if len(given) > 1:
            raise BadUserInput(f"Give only one of {', '.join(given)}.", arguments=given)
        if id is not None:
            return await node_by_id(info, Researcher, id)
        session = info.context.session
        if orcid is not None:
            model = await researchers.get_by_orcid(session, orcid)
        elif openalex_id is not None:
            model = await researchers.get_by_openalex_id(session, openalex_id)
        else:
            return None
        return Researcher.from_model(model) if model else None
