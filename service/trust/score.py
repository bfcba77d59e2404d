"""The trust score of DESIGN.md ("Trust model") as a pure function: facts in, score and the
factors that made it out. No I/O; the trust service gathers the facts."""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass


class VerificationLevel(enum.StrEnum):
    L0 = "L0"
    """Name only: no work with a persistent identifier."""
    L1 = "L1"
    """Public record: at least one work with a DOI, arXiv or OpenAlex id."""
    L2 = "L2"
    """Claimed by an account whose email is confirmed."""
    L3 = "L3"
    """Identity verified by ORCID sign-in or an institutional email."""
    L4 = "L4"
    """L3 and vouched for by at least two L3+ co-authors."""

    @property
    def rank(self) -> int:
        return int(self.value[1])


class TrustBand(enum.StrEnum):
    UNVERIFIED = "UNVERIFIED"
    EMERGING = "EMERGING"
    ESTABLISHED = "ESTABLISHED"
    TRUSTED = "TRUSTED"


VERIFICATION_POINTS = {
    VerificationLevel.L0: 0,
    VerificationLevel.L1: 5,
    VerificationLevel.L2: 5,  # as L1: see verification_factor
    VerificationLevel.L3: 30,
    VerificationLevel.L4: 40,
}
PUBLICATION_CAP = 20
COLLABORATION_CAP = 20
FOLLOWER_CAP = 15
UNVERIFIED_FOLLOWERS_CAP = 2
"""Points that all followers without a verified claim can add together, however many."""
UNVERIFIED_FOLLOWER_WEIGHT = 0.1
"""Weight of one follower with no verified claim: as much as a researcher of trust 10."""
VOUCHES_FOR_L4 = 2

BAND_FLOORS = (
    (70, TrustBand.TRUSTED),
    (40, TrustBand.ESTABLISHED),
    (20, TrustBand.EMERGING),
    (0, TrustBand.UNVERIFIED),
)


def round_half_up(value: float) -> int:
    """Round as people do (2.5 -> 3); Python's ``round`` would give 2."""
    return math.floor(value + 0.5)


@dataclass(frozen=True, slots=True)
class TrustFactor:
    key: str
    points: int
    detail: str

    def as_json(self) -> dict[str, object]:
        """As a snapshot stores it (``dataclasses.asdict``'s deep copy was a sixth of a bulk
        derive's trust step)."""
        return {"key": self.key, "points": self.points, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class TrustInputs:
    verification_level: VerificationLevel
    works: int
    close_collaborator_levels: Sequence[VerificationLevel]
    verified_follower_trust: Sequence[int]
    """Trust scores (0-100) of the records that verified followers have claimed."""
    unverified_followers: int
    claimed: bool = False


@dataclass(frozen=True, slots=True)
class TrustScore:
    score: int
    band: TrustBand
    verification_level: VerificationLevel
    claimed: bool
    factors: tuple[TrustFactor, ...]


def band_for(score: int) -> TrustBand:
    for floor, band in BAND_FLOORS:
        if score >= floor:
            return band
    return TrustBand.UNVERIFIED


def verification_factor(level: VerificationLevel) -> TrustFactor:
    """L2 scores as L1. A claim nobody has verified says only that someone with a confirmed
    mailbox asked for the record, and anyone can ask for any record: points for it would let
    anyone raise a stranger's trust (or their own record's, with a code never used) by asking.
    The level is still shown, so a page can say a claim is pending; it ends with its code."""
    labels = {
        VerificationLevel.L0: "name only, no work with a persistent identifier",
        VerificationLevel.L1: "public record with a persistent identifier",
        VerificationLevel.L2: "claimed, not yet verified (scores as L1)",
        VerificationLevel.L3: "identity verified",
        VerificationLevel.L4: "identity verified and vouched for by co-authors",
    }
    return TrustFactor("verification", VERIFICATION_POINTS[level], f"{level}: {labels[level]}")


def publication_factor(works: int) -> TrustFactor:
    points = min(PUBLICATION_CAP, round_half_up(4 * math.log2(1 + max(works, 0))))
    noun = "work" if works == 1 else "works"
    return TrustFactor("publications", points, f"{works} {noun}")


def collaborator_weight(level: VerificationLevel) -> float:
    if level.rank >= 3:
        return 1.5
    return 0.5  # L2 as L1: an unverified claim vouches for nothing


def collaboration_factor(levels: Sequence[VerificationLevel]) -> TrustFactor:
    total = sum(collaborator_weight(level) for level in levels)
    points = min(COLLABORATION_CAP, round_half_up(total))
    by_level: dict[str, int] = {}
    for level in sorted(levels):
        label = "L3+" if level.rank >= 3 else "L2" if level.rank == 2 else "L0-L1"
        by_level[label] = by_level.get(label, 0) + 1
    parts = ", ".join(f"{count} at {label}" for label, count in by_level.items())
    noun = "close collaborator" if len(levels) == 1 else "close collaborators"
    detail = f"{len(levels)} {noun}" + (f" ({parts})" if parts else "")
    return TrustFactor("collaboration", points, detail)


def follower_factor(verified_trust: Sequence[int], unverified: int) -> TrustFactor:
    verified_weight = sum(max(0, min(100, t)) / 100 for t in verified_trust)
    verified_points = 3 * math.log2(1 + verified_weight)
    unverified_points = min(
        float(UNVERIFIED_FOLLOWERS_CAP),
        3 * math.log2(1 + UNVERIFIED_FOLLOWER_WEIGHT * max(unverified, 0)),
    )
    points = min(FOLLOWER_CAP, round_half_up(verified_points + unverified_points))
    total = len(verified_trust) + unverified
    noun = "follower" if total == 1 else "followers"
    detail = f"{total} {noun} ({len(verified_trust)} verified, weight {verified_weight:.2f})"
    return TrustFactor("followers", points, detail)


def compute_trust(inputs: TrustInputs) -> TrustScore:
    """Score = verification + publications + collaboration + followers, each with its detail."""
    factors = (
        verification_factor(inputs.verification_level),
        publication_factor(inputs.works),
        collaboration_factor(inputs.close_collaborator_levels),
        follower_factor(inputs.verified_follower_trust, inputs.unverified_followers),
    )
    score = max(0, min(100, sum(f.points for f in factors)))
    return TrustScore(
        score=score,
        band=band_for(score),
        verification_level=inputs.verification_level,
        claimed=inputs.claimed,
        factors=factors,
    )
