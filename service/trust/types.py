from __future__ import annotations

import datetime as dt
from typing import Self

import strawberry

from service.errors import BadUserInput
from service.graphql.context import Info
from service.trust import models
from service.trust.score import TrustBand, VerificationLevel

strawberry.enum(TrustBand, name="TrustBand")
strawberry.enum(VerificationLevel, name="VerificationLevel")

HISTORY_CAP = 100


@strawberry.type(description="One part of a trust score, with the points it gave and why.")
class TrustFactor:
    key: str
    points: int
    detail: str


@strawberry.type(description="A past trust score.")
class TrustHistoryEntry:
    score: int
    band: TrustBand
    verification_level: VerificationLevel
    claimed: bool
    computed_at: dt.datetime
    factors: list[TrustFactor] = strawberry.field(
        description="What made this score, as in the current snapshot."
    )


@strawberry.type(description="The current trust snapshot of a researcher record.")
class Trust:
    score: int
    band: TrustBand
    verification_level: VerificationLevel
    claimed: bool
    computed_at: dt.datetime
    factors: list[TrustFactor]
    researcher_id: strawberry.Private[int]

    @classmethod
    def from_model(cls, m: models.TrustSnapshot) -> Self:
        return cls(
            score=m.score,
            band=m.band,
            verification_level=m.verification_level,
            claimed=m.claimed,
            computed_at=m.computed_at,
            factors=[TrustFactor(**f) for f in m.factors],
            researcher_id=m.researcher_id,
        )

    @strawberry.field(description="Snapshots newest first, the current one included.")
    async def history(self, info: Info, first: int = 10) -> list[TrustHistoryEntry]:
        if not 0 <= first <= HISTORY_CAP:
            raise BadUserInput(f"`first` must be between 0 and {HISTORY_CAP}.", argument="first")
        snapshots = await info.context.loaders.trust_history_by_researcher.load(
            (self.researcher_id, first)
        )
        return [
            TrustHistoryEntry(
                score=s.score,
                band=s.band,
                verification_level=s.verification_level,
                claimed=s.claimed,
                computed_at=s.computed_at,
                factors=[TrustFactor(**f) for f in s.factors],
            )
            for s in snapshots
        ]
