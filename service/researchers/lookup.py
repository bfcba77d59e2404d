"""Loading the researcher a mutation acts on, fresh from the database."""

from __future__ import annotations

from service.errors import NotFound
from service.graphql.context import Info
from service.graphql.relay import from_global_id
from service.researchers.models import Researcher
from service.researchers.repository import ResearcherRepository


async def researcher_for_change(info: Info, global_id: str) -> Researcher:
    _, pk = from_global_id(global_id, "Researcher")
    researcher = await ResearcherRepository(info.context.session).get_by_id(pk)
    if researcher is None:
        raise NotFound(f"No researcher with id {global_id}.")
    return researcher


async def researcher_after_change(info: Info, researcher_id: int) -> Researcher:
    """The researcher as the change left it (counters and trust recomputed)."""
    researcher = await ResearcherRepository(info.context.session).get_fresh(researcher_id)
    assert researcher is not None
    return researcher
