"""The abstract rebuilt from its inverted index: placed by position, read as the definition
says (every word at each of its positions, in position order) for real and odd records."""

from __future__ import annotations

from typing import Any

import pytest

from service.imports.openalex.records import (
    map_work,
)
from tests.imports.support import Raw


def by_sorting(index: dict[str, Any]) -> str | None:
    """The definition: every (position, word) pair with an int position, in order."""
    pairs = sorted(
        (p, w) for w, ps in index.items() if isinstance(ps, list) for p in ps if isinstance(p, int)
    )
    return " ".join(w for _, w in pairs) or None


class TestTheAbstract:
    def test_every_real_record_reads_as_its_positions_say(self, raw: Raw) -> None:
        indexes = [r["abstract_inverted_index"] for r in raw.records]
        assert sum(1 for i in indexes if i) > 2_000
        for record, index in zip(raw.records, indexes, strict=True):
            work = map_work(record).work
            assert work is not None
            assert work.abstract == (by_sorting(index) if index else None)

    @pytest.mark.parametrize(
        "index",
        [
            {"b": [1], "a": [0, 2]},
            {"a": [1], "b": [0, 0]},  # a position taken twice
            {"x": [5], "y": [2]},  # gaps
            {"x": [-1], "y": [0]},
            {"x": [True], "y": [0]},
            {"x": [1.0], "y": [0]},
            {"x": "not a list", "y": [0]},
            {"x": [10**12]},
            {"z": [0], "y": [0]},
        ],
    )
    def test_odd_indexes_read_as_the_definition(self, index: dict[str, Any]) -> None:
        record = {"id": "W1", "title": "T", "abstract_inverted_index": index}
        work = map_work(record).work
        assert work is not None and work.abstract == by_sorting(index)
