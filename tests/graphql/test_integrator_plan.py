"""The integrator document's compiled plan answers exactly as the general path, byte for byte,
on the KFUPM records imported into PostgreSQL (100-author lists, authors with and without trust
or topics, authorships with several institutions, works without DOI or year), at several page
sizes; each page size is admitted on its own, so a small page cannot open the way for a page
the cost limit refuses. (On SQLite the plan declines: ``test_plans.py``.)"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from strawberry.types import ExecutionResult

from service.app import create_app
from service.graphql.plans import MAX_ADMISSIONS, Plans
from service.graphql.relay import to_global_id
from service.researchers.integrator_plan import INTEGRATOR_NESTED
from tests.events.population import sql
from tests.graphql.test_plans import assert_same_answer, planned_answers, post
from tests.imports.support import MEMBER, fetch, import_kfupm
from tests.support import (
    LiveServer,
    contract,
    create_prepared_database,
    drop_database,
    serve,
    settings_for,
)

INTEGRATOR = contract("integrator_nested.graphql")
GENERAL = INTEGRATOR + "\n"
"""The same operation in a text no plan matches."""


@pytest.fixture(scope="module")
def imported_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = create_prepared_database(
        "postgresql", Path(tmp_path_factory.mktemp("integrator")), "kfupm", import_kfupm
    )
    try:
        # Some authors whose trust is not computed yet (as after an import, before derive).
        sql(
            settings_for(url),
            "DELETE FROM trust_snapshots WHERE researcher_id IN "
            "(SELECT researcher_id FROM authorships WHERE position IN (2, 3))",
        )
        yield url
    finally:
        drop_database(url)


AUTHORS_SHOWN = 40
"""Lower than the longest imported list (99 authors), so that both paths cut it."""


@pytest.fixture(scope="module")
def server(imported_url: str) -> Iterator[LiveServer]:
    settings = settings_for(
        imported_url, in_process_workers=False, max_authors_per_work=AUTHORS_SHOWN
    )
    with serve(create_app(settings)) as live:
        yield live


def sample(url: str) -> list[str]:
    """The member, the researchers of the longest author lists, and a random sample."""
    member = fetch(url, "SELECT id FROM researchers WHERE openalex_id = :o", o=MEMBER)
    crowded = fetch(
        url,
        "SELECT a.researcher_id FROM authorships AS a JOIN "
        "(SELECT work_id FROM authorships GROUP BY work_id ORDER BY count(*) DESC LIMIT 2) AS w "
        "ON w.work_id = a.work_id WHERE a.position = 1",
    )
    everyone = [row[0] for row in fetch(url, "SELECT id FROM researchers ORDER BY id")]
    chosen = [member[0][0], *(row[0] for row in crowded), *random.Random(7).sample(everyone, 25)]
    return [to_global_id("Researcher", pk) for pk in dict.fromkeys(chosen)]


def compare(server: LiveServer, variables: Any) -> dict[str, Any]:
    planned = post(server, INTEGRATOR, variables)
    general = post(server, GENERAL, variables)
    assert_same_answer(planned, general)
    body: dict[str, Any] = planned.json()
    return body


@pytest.mark.parametrize("first", [None, 1, 7])
def test_imported_researchers_get_the_same_bytes(
    server: LiveServer, imported_url: str, first: int | None
) -> None:
    ids = sample(imported_url)
    size = {} if first is None else {"first": first}
    assert "errors" not in post(server, INTEGRATOR, {"id": ids[0], **size}).json()  # admits
    before = planned_answers(server)
    pages = [compare(server, {"id": i, **size})["data"]["researcher"] for i in ids]
    assert planned_answers(server) - before == len(ids)
    works = [edge["node"] for page in pages for edge in page["works"]["edges"]]
    authorships = [a for work in works for a in work["authorships"]]
    # What the sample holds, so that the comparison covers it.
    assert max(len(work["authorships"]) for work in works) == AUTHORS_SHOWN
    assert {a["author"]["trust"] is None for a in authorships} == {True, False}
    assert any(len(a["institutions"]) > 1 for a in authorships)
    assert any(not a["institutions"] for a in authorships)
    assert any(a["author"]["topics"]["edges"] for a in authorships)
    assert {work["doi"] is None for work in works} == {True, False}
    # Small pages leave works for a next page (nobody sampled has over 50).
    assert any(page["works"]["pageInfo"]["hasNextPage"] for page in pages) is bool(first)


@pytest.mark.parametrize(
    "variables",
    [
        {"first": 0},
        {"first": 101},
        {"first": None},
        {"first": "5"},
        {"first": True},
        {"first": 2, "other": 1},
        {"id": to_global_id("Work", 1)},
        {"id": to_global_id("Researcher", 987_654_321)},
        {"id": "not-base64!"},
    ],
)
def test_what_the_plan_declines_the_general_path_answers(
    server: LiveServer, imported_url: str, variables: dict[str, Any]
) -> None:
    member = sample(imported_url)[0]
    for size in (0, 101, None, "5", True, 2):
        post(server, INTEGRATOR, {"id": member, "first": size})  # admitted where it can be
    given = {"id": member, **variables}
    before = planned_answers(server)
    compare(server, given)
    assert planned_answers(server) == before


def test_a_small_page_does_not_admit_a_page_over_the_cost_limit(imported_url: str) -> None:
    """The attack: have a page of 2 admitted, then send the same text with 50 works of 100
    authors each. The general path refuses it every time; the plan never answers it."""
    member = sample(imported_url)[0]
    settings = settings_for(imported_url, in_process_workers=False, max_query_cost=60_000)
    with serve(create_app(settings)) as limited:
        small = [post(limited, INTEGRATOR, {"id": member, "first": 2}).json() for _ in range(2)]
        assert planned_answers(limited) == 1
        for body in small:
            assert len(body["data"]["researcher"]["works"]["edges"]) == 2
        for size in ({"first": 50}, {}):
            for _ in range(2):
                body = post(limited, INTEGRATOR, {"id": member, **size}).json()
                assert body.get("data") is None
                assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COMPLEX"]
        assert planned_answers(limited) == 1


def test_admissions_stop_growing_at_their_cap() -> None:
    """A client sending ever new page sizes gets each admitted only up to the cap; past it the
    general path answers them, and the process keeps no more of them."""
    plans = Plans([INTEGRATOR_NESTED])
    executed = ExecutionResult(data={"researcher": None}, errors=None)
    for first in range(MAX_ADMISSIONS + 500):
        plans.admit(INTEGRATOR_NESTED, {"id": "x", "first": first}, executed)
    assert plans.admitted(INTEGRATOR_NESTED, {"id": "y", "first": 5})
    assert not plans.admitted(INTEGRATOR_NESTED, {"id": "y", "first": MAX_ADMISSIONS + 10})
    assert not plans.admitted(INTEGRATOR_NESTED, {"id": "y"})  # the default: never executed
    assert not plans.admitted(INTEGRATOR_NESTED, {"id": "y", "first": "5"})
