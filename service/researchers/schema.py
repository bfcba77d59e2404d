from __future__ import annotations

import strawberry

from service.errors import BadUserInput
from service.graphql.context import Info
from service.graphql.relay import Connection, build_connection, node_by_id, page_args
from service.researchers.repository import BY_NAME
from service.researchers.service import researchers
from service.researchers.types import Researcher


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

    @strawberry.field(
        description="Researchers whose name contains `search` (case- and accent-insensitive), "
        "by name."
    )
    async def researchers(
        self,
        info: Info,
        search: str | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Researcher]:
        request = page_args(info, BY_NAME, first=first, after=after, last=last, before=before)
        page, count = await researchers.search(info.context.session, search, request)
        return build_connection(page, Researcher.from_model, count)
