"""Recomputes trust snapshots from the stored facts. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

from sqlalchemy.ext.asyncio import AsyncSession

from service.claims.models import ClaimStatus
from service.db.base import utcnow
from service.db.repository import chunked
from service.researchers.models import Researcher
from service.researchers.repository import ResearcherRepository
from service.trust.levels import VerificationFacts, verification_level
from service.trust.models import TrustSnapshot
from service.trust.repository import TrustRepository
from service.trust.score import TrustInputs, TrustScore, VerificationLevel, compute_trust

BATCH_SIZE = 2_000
"""Researchers per round of fact queries (keeps ``IN`` lists within driver limits)."""


class TrustService:
    async def recompute(self, session: AsyncSession, researcher_ids: Sequence[int]) -> list[int]:
        """Recompute the trust of these researchers; store a new snapshot where it changed.
        Reads the researchers' counters, so recompute those first. Returns the changed ids."""
        changed: list[int] = []
        for batch in chunked(researcher_ids, BATCH_SIZE):
            changed.extend(await self._recompute_batch(session, list(batch)))
        return changed

    async def _recompute_batch(self, session: AsyncSession, ids: list[int]) -> list[int]:
        repository = TrustRepository(session)
        researchers = {r.id: r for r in await ResearcherRepository(session).list_by_ids(ids)}
        levels = await self._levels(repository, ids)
        collaborators = await repository.close_collaborators(ids)
        outside = {c for cs in collaborators.values() for c in cs if c not in levels}
        collaborator_levels = {**await repository.current_levels(list(outside)), **levels}
        followers = await repository.followers(ids)
        claims = await repository.claim_statuses(ids)
        current = await repository.current_snapshots(ids)

        now = utcnow()
        rows: list[dict[str, object]] = []
        for rid in ids:
            researcher = researchers[rid]
            verified, unverified = followers.get(rid, ([], 0))
            result = compute_trust(
                TrustInputs(
                    verification_level=levels[rid],
                    works=researcher.works_count,
                    close_collaborator_levels=[
                        collaborator_levels.get(c, VerificationLevel.L0)
                        for c in collaborators.get(rid, [])
                    ],
                    verified_follower_trust=verified,
                    unverified_followers=unverified,
                    claimed=bool(claims.get(rid)),
                )
            )
            if not _same(current.get(rid), result):
                rows.append(_snapshot_row(researcher, result, now))
        await repository.replace_current(rows)
        return [int(str(row["researcher_id"])) for row in rows]

    async def _levels(
        self, repository: TrustRepository, ids: list[int]
    ) -> dict[int, VerificationLevel]:
        persistent = await repository.with_persistent_work(ids)
        claims = await repository.claim_statuses(ids)
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
            for rid in ids
        }


def _same(snapshot: TrustSnapshot | None, result: TrustScore) -> bool:
    return (
        snapshot is not None
        and snapshot.score == result.score
        and snapshot.verification_level == result.verification_level
        and snapshot.claimed == result.claimed
        and snapshot.factors == [asdict(f) for f in result.factors]
    )


def _snapshot_row(researcher: Researcher, result: TrustScore, now: object) -> dict[str, object]:
    return {
        "researcher_id": researcher.id,
        "score": result.score,
        "band": result.band,
        "verification_level": result.verification_level,
        "claimed": result.claimed,
        "factors": [asdict(f) for f in result.factors],
        "computed_at": now,
        "is_current": True,
    }


trust = TrustService()
