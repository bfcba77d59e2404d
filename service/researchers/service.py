"""Researcher reads and the derived per-researcher data (topics, counters). Never commits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Subquery

from service.db.repository import chunked
from service.errors import BadUserInput
from service.events.service import emit
from service.researchers.models import Researcher
from service.researchers.repository import ResearcherRepository
from service.text import clean_text

BATCH_SIZE = 2_000
MAX_DESCRIPTION_LENGTH = 2_000
ORCID_PATTERN_LENGTH = 19


def normalize_orcid(value: str) -> str:
    """Accept ``0000-0001-7056-6323`` or its ``https://orcid.org/`` URL; check the ISO 7064
    checksum, so a typo is BAD_USER_INPUT rather than an empty lookup."""
    orcid = value.strip().removeprefix("https://orcid.org/").removeprefix("http://orcid.org/")
    digits = orcid.replace("-", "")
    if (
        len(orcid) != ORCID_PATTERN_LENGTH
        or [i for i, c in enumerate(orcid) if c == "-"] != [4, 9, 14]
        or len(digits) != 16
        or not digits[:15].isdigit()
        or digits[15] not in "0123456789X"
    ):
        raise BadUserInput("Malformed ORCID iD: expected 0000-0000-0000-000X.", argument="orcid")
    if digits[15] != orcid_check_digit(digits[:15]):
        raise BadUserInput("Malformed ORCID iD: checksum does not match.", argument="orcid")
    return orcid


def orcid_check_digit(digits: str) -> str:
    """The ISO 7064 11,2 check character of an ORCID iD's first 15 digits."""
    total = 0
    for char in digits:
        total = (total + int(char)) * 2
    check = (12 - total % 11) % 11
    return "X" if check == 10 else str(check)


def orcid_from_digits(digits: str) -> str:
    """``0000-0002-1825-0097`` from its first 15 digits: the check character added."""
    full = digits + orcid_check_digit(digits)
    return "-".join(full[i : i + 4] for i in range(0, 16, 4))


def normalize_openalex_author_id(value: str) -> str:
    """Accept ``A5000180362`` or ``https://openalex.org/A5000180362``."""
    short = value.strip().removeprefix("https://openalex.org/").upper()
    if len(short) < 2 or short[0] != "A" or not short[1:].isdigit():
        raise BadUserInput(
            "Malformed OpenAlex author id: expected A followed by digits.", argument="openalexId"
        )
    return short


class ResearcherService:
    async def get_by_orcid(self, session: AsyncSession, orcid: str) -> Researcher | None:
        return await ResearcherRepository(session).get_by_orcid(normalize_orcid(orcid))

    async def get_by_openalex_id(
        self, session: AsyncSession, openalex_id: str
    ) -> Researcher | None:
        return await ResearcherRepository(session).get_by_openalex_id(
            normalize_openalex_author_id(openalex_id)
        )

    async def recompute_everyone(
        self, session: AsyncSession, affiliations: Subquery | None = None
    ) -> None:
        """Topics and every counter of every researcher, from the source tables (and the
        ``affiliations`` given, written in the same rewrite)."""
        await ResearcherRepository(session).recount_everything(affiliations)

    async def add_works(
        self, session: AsyncSession, work_ids: Sequence[int], researcher_ids: Sequence[int]
    ) -> None:
        """New works of these researchers (their authors): their topics fold into
        ``researcher_topics`` once, then the counters a new work moves (works, topics, close
        collaborators) are recounted. Leaves the followers counter alone: follow events move
        it by exact deltas, and a recount here would already include follows whose events are
        still on their way."""
        repository = ResearcherRepository(session)
        await repository.add_work_topics(work_ids)
        await self._recount(
            session, researcher_ids, ResearcherRepository.work_counter_values, topics=False
        )

    async def refresh_works(self, session: AsyncSession, researcher_ids: Sequence[int]) -> None:
        """After works changed their authors or topics: topics rebuilt, and the counters works
        move (works, topics, close collaborators) recounted. Followers are left to their
        events, as in ``add_works``."""
        await self._recount(session, researcher_ids, ResearcherRepository.work_counter_values)

    async def recount_close_collaborators(
        self, session: AsyncSession, researcher_ids: Sequence[int]
    ) -> None:
        """After cluster moves: the close collaborators counter only."""
        await self._recount(
            session,
            researcher_ids,
            ResearcherRepository.close_collaborator_values,
            topics=False,
        )

    async def _recount(
        self,
        session: AsyncSession,
        researcher_ids: Sequence[int],
        values: Callable[[ResearcherRepository, Sequence[int]], Awaitable[list[dict[str, int]]]],
        *,
        topics: bool = True,
    ) -> None:
        repository = ResearcherRepository(session)
        for batch in chunked(researcher_ids, BATCH_SIZE):
            await repository.lock(batch)
            if topics:
                await repository.rebuild_topics(batch)
            await repository.update_counters(await values(repository, batch))

    async def add_followers(self, session: AsyncSession, deltas: Mapping[int, int]) -> None:
        """Move ``followers_count`` by a delta per researcher. Exact because each follow event
        is applied once (its processed mark commits with this); one statement, rows in id order,
        so a hot researcher's row is locked only until the commit that follows."""
        await ResearcherRepository(session).add_to_followers_counts(
            {rid: delta for rid, delta in deltas.items() if delta}
        )

    def update_profile(
        self,
        session: AsyncSession,
        researcher: Researcher,
        *,
        description: str | None = None,
        open_to_collaborate: bool | None = None,
    ) -> None:
        """Change what the claimant may change; the caller checked that it is the claimant."""
        changed: list[str] = []
        if description is not None:
            text = clean_text(
                description,
                argument="description",
                max_length=MAX_DESCRIPTION_LENGTH,
                multiline=True,
            )
            researcher.description = text or None
            changed.append("description")
        if open_to_collaborate is not None:
            researcher.open_to_collaborate = open_to_collaborate
            changed.append("openToCollaborate")
        if changed:
            emit(session, "researchers.updated", researcher_id=researcher.id, fields=changed)


researchers = ResearcherService()
