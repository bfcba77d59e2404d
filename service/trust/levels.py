"""Verification level from the facts about a record (DESIGN.md "Trust model"). Pure."""

from __future__ import annotations

from dataclasses import dataclass

from service.trust.score import VOUCHES_FOR_L4, VerificationLevel


@dataclass(frozen=True, slots=True)
class VerificationFacts:
    has_persistent_work: bool
    """At least one of the record's works has a DOI, arXiv or OpenAlex id."""
    claimed_by_confirmed_account: bool
    """A claim by an account whose email is confirmed (pending or verified)."""
    identity_verified: bool
    """The claim was verified by ORCID sign-in or a matching institutional email."""
    vouches_from_verified_coauthors: int
    """Vouches from L3+ researchers who are co-authors of this record."""


def verification_level(facts: VerificationFacts) -> VerificationLevel:
    if facts.identity_verified:
        if facts.vouches_from_verified_coauthors >= VOUCHES_FOR_L4:
            return VerificationLevel.L4
        return VerificationLevel.L3
    if facts.claimed_by_confirmed_account:
        return VerificationLevel.L2
    if facts.has_persistent_work:
        return VerificationLevel.L1
    return VerificationLevel.L0
