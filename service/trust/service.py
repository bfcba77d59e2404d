"""Recomputes trust snapshots from the stored facts. Never commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from service.claims.models import ClaimStatus
from service.db.base import utcnow
from service.db.repository import chunked
from service.researchers.repository import ResearcherRepository
from service.trust.levels import VerificationFacts, verification_level
from service.trust.models import TrustSnapshot
from service.trust.repository import TrustRepository
from service.trust.score import TrustInputs, TrustScore, VerificationLevel, compute_trust

BATCH_SIZE = 2_000
"""Researchers per round of fact queries (keeps ``IN`` lists within driver limits)."""
MAX_SETTLE_ROUNDS = 10
"""Rounds of dependents recomputed after a change before giving up on a fixpoint (trust
through follows can form cycles; integer scores settle in two or three)."""


@dataclass(slots=True)
class TrustChanges:
    changed: list[int] = field(default_factory=list)
    """Researchers that got a new snapshot."""
    influential: list[int] = field(default_factory=list)
    """Those whose score or level changed: what other records' trust reads."""

    def extend(self, other: TrustChanges) -> None:
        self.changed.extend(other.changed)
        self.influential.extend(other.influential)


@dataclass(frozen=True, slots=True)
class StaleRefresh:
    taken: int
    """Stale researchers taken and recomputed."""
    changes: TrustChanges
    dependents: int
    """Researchers marked stale in turn because they read a changed score or level."""


class TrustService:
    async def recompute(self, session: AsyncSession, researcher_ids: Sequence[int]) -> TrustChanges:
        """Recompute the trust of these researchers; store a new snapshot where it changed.
        Reads the researchers' counters, so recompute those first."""
        changes = TrustChanges()
        for batch in chunked(researcher_ids, BATCH_SIZE):
            changes.extend(await self._recompute(session, list(batch)))
        return changes

    async def mark_stale(self, session: AsyncSession, researcher_ids: Sequence[int]) -> None:
        """Ask for these researchers' trust to be recomputed by the coalesced refresh."""
        await TrustRepository(session).mark_stale(researcher_ids)

    async def stale_waiting(self, session: AsyncSession, longer_than: dt.timedelta) -> bool:
        """Whether a stale researcher has waited longer than ``longer_than`` for its refresh."""
        oldest = await TrustRepository(session).oldest_stale_request()
        return oldest is not None and oldest < utcnow() - longer_than

    async def refresh_stale(self, session: AsyncSession, limit: int) -> StaleRefresh:
        """Take up to ``limit`` recompute requests, recompute their researchers, and mark stale
        the records whose trust reads a score or level that changed."""
        repository = TrustRepository(session)
        ids = await repository.take_stale(limit)
        if not ids:
            return StaleRefresh(0, TrustChanges(), 0)
        await repository.lock_for_recompute(ids)
        changes = await self.recompute(session, ids)
        dependents = await repository.dependents(changes.influential)
        await repository.mark_stale(dependents)
        return StaleRefresh(len(ids), changes, len(dependents))

    async def recompute_everyone(self, session: AsyncSession) -> TrustChanges:
        """Every researcher's trust, reading each fact table once whole (not in batches of
        ids), then the records that read a changed score through follows or vouches, until
        nothing changes. Levels are computed for everyone first, so the collaboration factor
        reads fresh levels and needs no second round."""
        changes = await self._recompute(session, None)
        influential = changes.influential
        for _ in range(MAX_SETTLE_ROUNDS):
            dependents = await TrustRepository(session).dependents(influential, collaborators=False)
            if not dependents:
                break
            round_changes = await self.recompute(session, dependents)
            changes.extend(round_changes)
            influential = round_changes.influential
        return changes

    async def _recompute(self, session: AsyncSession, ids: list[int] | None) -> TrustChanges:
        """These researchers' trust (everyone's when None), new snapshots where it changed."""
        repository = TrustRepository(session)
        works = await ResearcherRepository(session).works_counts(ids)
        targets = sorted(works) if ids is None else ids
        claims = await repository.claim_statuses(ids)
        levels = await self._levels(repository, ids, targets, claims)
        collaborators = await repository.close_collaborators(ids)
        outside = {c for cs in collaborators.values() for c in cs if c not in levels}
        collaborator_levels = {**await repository.current_levels(list(outside)), **levels}
        followers = await repository.followers(ids)
        current = await repository.current_snapshots(ids)

        now = utcnow()
        rows: list[dict[str, object]] = []
        influential: list[int] = []
        for rid in targets:
            verified, unverified = followers.get(rid, ([], 0))
            result = compute_trust(
                TrustInputs(
                    verification_level=levels[rid],
                    works=works[rid],
                    close_collaborator_levels=[
                        collaborator_levels.get(c, VerificationLevel.L0)
                        for c in collaborators.get(rid, [])
                    ],
                    verified_follower_trust=verified,
                    unverified_followers=unverified,
                    claimed=bool(claims.get(rid)),
                )
            )
            previous = current.get(rid)
            if not _same(previous, result):
                rows.append(_snapshot_row(rid, result, now))
                if (
                    previous is None
                    or previous.score != result.score
                    or previous.verification_level != result.verification_level
                ):
                    influential.append(rid)
        for batch in chunked(rows, BATCH_SIZE):
            await repository.replace_current(batch)
        return TrustChanges([int(str(row["researcher_id"])) for row in rows], influential)

    async def _levels(
        self,
        repository: TrustRepository,
        ids: list[int] | None,
        targets: list[int],
        claims: dict[int, set[ClaimStatus]],
    ) -> dict[int, VerificationLevel]:
        persistent = await repository.with_persistent_work(ids)
        vouches = await repository.vouches_from_verified_coauthors(ids)
        return {
            rid: verification_level(
                VerificationFacts(
                    has_persistent_work=rid in persistent,
                    claimed_by_confirmed_account=bool(claims.get(rid)),
                    identity_verified=ClaimStatus.VERIFIED in claims.get(rid, set()),
                    vouches_from_verified_coauthors=vouches.get(rid, 0),
                )
            )
            for rid in targets
        }


def _same(snapshot: TrustSnapshot | None, result: TrustScore) -> bool:
    return (
        snapshot is not None
        and snapshot.score == result.score
        and snapshot.verification_level == result.verification_level
        and snapshot.claimed == result.claimed
        and snapshot.factors == [f.as_json() for f in result.factors]
    )


def _snapshot_row(researcher_id: int, result: TrustScore, now: object) -> dict[str, object]:
    return {
        "researcher_id": researcher_id,
        "score": result.score,
        "band": result.band,
        "verification_level": result.verification_level,
        "claimed": result.claimed,
        "factors": [f.as_json() for f in result.factors],
        "computed_at": now,
        "is_current": True,
    }


trust = TrustService()
