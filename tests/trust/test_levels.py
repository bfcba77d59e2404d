from __future__ import annotations

from service.trust.levels import VerificationFacts, verification_level
from service.trust.score import VerificationLevel


def facts(**changes: object) -> VerificationFacts:
    base: dict[str, object] = {
        "has_persistent_work": False,
        "claimed_by_confirmed_account": False,
        "identity_verified": False,
        "vouches_from_verified_coauthors": 0,
    }
    return VerificationFacts(**{**base, **changes})  # type: ignore[arg-type]


class TestVerificationLevel:
    def test_name_only(self) -> None:
        assert verification_level(facts()) is VerificationLevel.L0

    def test_public_record(self) -> None:
        assert verification_level(facts(has_persistent_work=True)) is VerificationLevel.L1

    def test_claimed(self) -> None:
        level = verification_level(
            facts(has_persistent_work=True, claimed_by_confirmed_account=True)
        )
        assert level is VerificationLevel.L2

    def test_identity_verified(self) -> None:
        level = verification_level(facts(claimed_by_confirmed_account=True, identity_verified=True))
        assert level is VerificationLevel.L3

    def test_one_vouch_is_not_enough(self) -> None:
        level = verification_level(facts(identity_verified=True, vouches_from_verified_coauthors=1))
        assert level is VerificationLevel.L3

    def test_peer_vouched(self) -> None:
        level = verification_level(facts(identity_verified=True, vouches_from_verified_coauthors=2))
        assert level is VerificationLevel.L4

    def test_vouches_without_verified_identity_do_not_count(self) -> None:
        level = verification_level(
            facts(has_persistent_work=True, vouches_from_verified_coauthors=5)
        )
        assert level is VerificationLevel.L1
