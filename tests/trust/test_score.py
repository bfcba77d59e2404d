from __future__ import annotations

import dataclasses
import random

import pytest

from service.trust.score import (
    TrustBand,
    TrustInputs,
    VerificationLevel,
    band_for,
    collaboration_factor,
    compute_trust,
    follower_factor,
    publication_factor,
    verification_factor,
)

L0, L1, L2, L3, L4 = (VerificationLevel(f"L{i}") for i in range(5))


class TestWorkedExample:
    def test_seed_page_scores_eleven(self) -> None:
        result = compute_trust(
            TrustInputs(
                verification_level=L1,
                works=1,
                close_collaborator_levels=[L1, L1, L1, L1],
                verified_follower_trust=[],
                unverified_followers=0,
            )
        )
        assert result.score == 11
        assert result.band is TrustBand.UNVERIFIED
        assert [(f.key, f.points) for f in result.factors] == [
            ("verification", 5),
            ("publications", 4),
            ("collaboration", 2),
            ("followers", 0),
        ]
        assert result.factors[2].detail == "4 close collaborators (4 at L0-L1)"


class TestVerification:
    @pytest.mark.parametrize(("level", "points"), [(L0, 0), (L1, 5), (L2, 5), (L3, 30), (L4, 40)])
    def test_points_per_level(self, level: VerificationLevel, points: int) -> None:
        assert verification_factor(level).points == points

    def test_an_unverified_claim_adds_nothing_anywhere(self) -> None:
        """A record claimed but not verified, and its co-authors: the scores of L1."""
        as_l1 = TrustInputs(L1, 3, [L1, L2, L3], [50], 4)
        claimed = TrustInputs(L2, 3, [L1, L2, L3], [50], 4, claimed=True)
        assert compute_trust(claimed).score == compute_trust(as_l1).score
        assert collaboration_factor([L2] * 8).points == collaboration_factor([L1] * 8).points


class TestPublications:
    @pytest.mark.parametrize(
        ("works", "points"),
        # 4*log2(1+w): 1 -> 4, 2 -> 6.34, 3 -> 8, 28 -> 19.43, 29 -> 19.63 rounds to 20.
        [(0, 0), (1, 4), (2, 6), (3, 8), (28, 19), (29, 20), (10_000, 20)],
    )
    def test_log_scale_and_cap(self, works: int, points: int) -> None:
        assert publication_factor(works).points == points


class TestCollaboration:
    def test_weights_by_level(self) -> None:
        assert collaboration_factor([L0, L1]).points == 1
        assert collaboration_factor([L2, L2, L2]).points == 2  # 3 x 0.5, as L1
        assert collaboration_factor([L3, L4]).points == 3

    def test_half_rounds_up(self) -> None:
        # 5 x 0.5 = 2.5: people read that as 3, Python's round() would say 2.
        assert collaboration_factor([L1] * 5).points == 3

    def test_cap(self) -> None:
        assert collaboration_factor([L3] * 13).points == 20  # 19.5 rounds to 20
        assert collaboration_factor([L3] * 100).points == 20

    def test_none(self) -> None:
        factor = collaboration_factor([])
        assert (factor.points, factor.detail) == (0, "0 close collaborators")


class TestFollowers:
    def test_verified_followers_weigh_by_their_trust(self) -> None:
        assert follower_factor([100], 0).points == 3  # 3*log2(2)
        assert follower_factor([100, 100, 100], 0).points == 6  # 3*log2(4)
        assert follower_factor([10], 0).points == 0  # 3*log2(1.1) = 0.41

    def test_cap(self) -> None:
        assert follower_factor([100] * 100, 0).points == 15

    @pytest.mark.parametrize("unverified", [5, 6, 50, 500, 1_000_000])
    def test_unverified_accounts_add_at_most_two_points(self, unverified: int) -> None:
        assert follower_factor([], unverified).points <= 2
        assert follower_factor([], unverified).points >= 1

    def test_unverified_cap_reached(self) -> None:
        assert follower_factor([], 500).points == 2

    def test_sybils_add_at_most_two_points_on_top_of_real_followers(self) -> None:
        real = follower_factor([100, 100, 100], 0).points
        assert follower_factor([100, 100, 100], 10_000).points <= real + 2


class TestBands:
    @pytest.mark.parametrize(
        ("score", "band"),
        [
            (0, TrustBand.UNVERIFIED),
            (19, TrustBand.UNVERIFIED),
            (20, TrustBand.EMERGING),
            (39, TrustBand.EMERGING),
            (40, TrustBand.ESTABLISHED),
            (69, TrustBand.ESTABLISHED),
            (70, TrustBand.TRUSTED),
            (100, TrustBand.TRUSTED),
        ],
    )
    def test_boundaries(self, score: int, band: TrustBand) -> None:
        assert band_for(score) is band


CAPS = {"verification": 40, "publications": 20, "collaboration": 20, "followers": 15}
"""Each factor's most points (the trust model: V + P + C + F); together 95, never 100."""


class TestTotal:
    def test_every_factor_stops_at_its_cap_and_the_maximum_is_95(self) -> None:
        # Every input far beyond what its factor's cap needs: without a cap, a factor (and
        # the total, clamped at 100) would come out higher.
        result = compute_trust(
            TrustInputs(
                verification_level=L4,
                works=1_000_000,  # 4*log2(1+w) = 80 points uncapped
                close_collaborator_levels=[L4] * 10_000,  # 15,000 points uncapped
                verified_follower_trust=[100] * 100_000,  # 50 + 2 points uncapped
                unverified_followers=1_000_000,
                claimed=True,
            )
        )
        assert {f.key: f.points for f in result.factors} == CAPS
        assert result.score == sum(CAPS.values()) == 95
        assert result.band is TrustBand.TRUSTED
        assert result.claimed is True

    def test_a_score_is_the_sum_of_its_factors_and_never_exceeds_the_caps(self) -> None:
        rng = random.Random(7)
        for _ in range(500):
            inputs = TrustInputs(
                verification_level=rng.choice([L0, L1, L2, L3, L4]),
                works=rng.choice([0, 1, rng.randrange(1_000_000)]),
                close_collaborator_levels=rng.choices([L0, L1, L2, L3, L4], k=rng.randrange(60)),
                verified_follower_trust=[rng.randrange(-50, 200) for _ in range(rng.randrange(60))],
                unverified_followers=rng.randrange(100_000),
            )
            result = compute_trust(inputs)
            points = {f.key: f.points for f in result.factors}
            assert all(0 <= points[key] <= cap for key, cap in CAPS.items()), (inputs, points)
            assert result.score == sum(points.values()) <= 95, inputs
            assert result.band is band_for(result.score)


class TestStoredFactors:
    def test_a_factor_is_stored_with_every_field_of_it(self) -> None:
        # A snapshot's ``factors`` (JSON) is what the API shows; a field added to
        # ``TrustFactor`` and left out of ``as_json`` would silently not be stored.
        factor = verification_factor(L2)
        assert factor.as_json() == dataclasses.asdict(factor)
