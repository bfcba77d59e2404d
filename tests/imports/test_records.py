"""The pure parts of the mapping: the abstract rebuilt from its inverted index, and the
institution a researcher first seen in a batch of works starts with."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from service.imports.openalex.records import (
    AuthorshipRow,
    WorkRow,
    latest_institutions,
    map_work,
)
from service.works.models import WorkType
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


def work(
    key: str,
    date: dt.date | None,
    year: int | None,
    authors: dict[str, list[str]],
) -> WorkRow:
    return WorkRow(
        key=key,
        title=key,
        type=WorkType.ARTICLE,
        updated=None,
        publication_date=date,
        publication_year=year,
        authorships=[
            AuthorshipRow(n, author, None, institutions)
            for n, (author, institutions) in enumerate(authors.items(), start=1)
        ],
    )


class TestLatestInstitutions:
    def test_the_most_recent_work_naming_one_and_its_first_institution(self) -> None:
        works = [
            work("W1", dt.date(2020, 5, 1), 2020, {"A1": ["I9"], "A2": ["I5"]}),
            work("W2", dt.date(2021, 1, 1), 2021, {"A1": ["I7", "I3"], "A2": []}),
            work("W3", None, 2024, {"A1": ["I8"], "A3": ["I1"]}),  # no date: after dated ones
            work("W4", None, None, {"A3": ["I2"]}),
        ]
        assert latest_institutions(works) == {"A1": "I3", "A2": "I5", "A3": "I1"}

    def test_same_date_the_higher_work_id(self) -> None:
        day = dt.date(2022, 2, 2)
        works = [
            work("W20", day, 2022, {"A1": ["I2"]}),
            work("W10", day, 2022, {"A1": ["I1"]}),
        ]
        assert latest_institutions(works) == {"A1": "I2"}
