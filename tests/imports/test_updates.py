"""Importing over what is stored, with the event workers running: a newer record of a work
changes its authors and the graph follows; an older one changes nothing; a merged author record
moves its authorships, follows and claims to the survivor, and its ids answer with the
survivor. The graph is checked against Newman's weights recounted here from the authorships."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
from collections.abc import Iterator
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest

from service.app import create_app
from service.graphql.relay import to_global_id
from tests.events.population import confirmed_accounts, follow_all
from tests.imports.support import (
    MEMBER,
    MEMBER_FILE,
    assert_no_orphans,
    fetch,
    import_into,
    mapping,
    read_jsonl,
)
from tests.support import eventually, serve, settings_for
from workers.process import EmbeddedWorkers

NEW_AUTHOR = "A9999999901"


@pytest.fixture
def running(empty_url: str) -> Iterator[str]:
    """The member's works imported through the events, the workers running and caught up."""
    workers = EmbeddedWorkers(settings_for(empty_url))
    try:
        import_into(empty_url, MEMBER_FILE)
        eventually(lambda: settled(empty_url), timeout=30)
        yield empty_url
    finally:
        workers.close()


def settled(url: str) -> None:
    pending = fetch(
        url,
        "SELECT id, event_type, created_at, published_at, failed_at, last_error "
        "FROM outbox_events WHERE processed_at IS NULL ORDER BY id",
    )
    ((stale,),) = fetch(url, "SELECT COUNT(*) FROM trust_stale")
    # What the events wait for, should they not settle: their rows and the database's sessions.
    sessions = [] if not pending else waiting_sessions(url)
    assert (len(pending), stale) == (0, 0), (pending, sessions)


def waiting_sessions(url: str) -> list[tuple[Any, ...]]:
    if not url.startswith("postgresql"):
        return []
    return fetch(
        url,
        "SELECT pid, state, wait_event_type, wait_event, now() - xact_start, left(query, 120) "
        "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )


def newman_recount(url: str) -> dict[tuple[int, int], tuple[float, int]]:
    """Every co-author pair from the authorships: sum of 1/(authors - 1), joint works."""
    authors: dict[int, set[int]] = {}
    for work, researcher in fetch(url, "SELECT work_id, researcher_id FROM authorships"):
        authors.setdefault(work, set()).add(researcher)
    pairs: dict[tuple[int, int], tuple[float, int]] = {}
    for members in authors.values():
        for a, b in combinations(sorted(members), 2):
            weight, joint = pairs.get((a, b), (0.0, 0))
            pairs[(a, b)] = (weight + 1 / (len(members) - 1), joint + 1)
    return pairs


def stored_edges(url: str) -> dict[tuple[int, int], tuple[float, int]]:
    rows = fetch(url, "SELECT researcher_id, coauthor_id, weight, joint_works FROM coauthor_edges")
    both = {(a, b): (w, n) for a, b, w, n in rows}
    for (a, b), (weight, joint) in both.items():  # both directions, alike
        assert both[(b, a)][1] == joint
        assert both[(b, a)][0] == pytest.approx(weight, rel=1e-12)
    return {(a, b): value for (a, b), value in both.items() if a < b}


def assert_graph_matches_the_authorships(url: str) -> None:
    assert_no_orphans(url)
    expected = newman_recount(url)
    stored = stored_edges(url)
    assert stored.keys() == expected.keys()
    for pair, (weight, joint) in expected.items():
        assert stored[pair][1] == joint, pair
        assert stored[pair][0] == pytest.approx(weight, rel=1e-9), pair
    ((total,),) = fetch(url, "SELECT total_weight FROM coauthor_graph_state")
    assert total == pytest.approx(sum(w for w, _ in expected.values()), rel=1e-9)
    counts = mapping(url, "SELECT id, works_count FROM researchers WHERE merged_into_id IS NULL")
    recounted = mapping(
        url,
        "SELECT r.id, COUNT(a.id) FROM researchers r LEFT JOIN authorships a "
        "ON a.researcher_id = r.id WHERE r.merged_into_id IS NULL GROUP BY r.id",
    )
    assert counts == recounted


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_bytes(gzip.compress(b"".join(json.dumps(r).encode() + b"\n" for r in records)))
    return path


def merged_ids_file(folder: Path, entity: str, old_key: str, survivor_key: str) -> Path:
    """A snapshot's ``merged_ids/<entity>/<date>.csv.gz`` with one merge; returns the folder."""
    merged = folder / "merged_ids" / entity / "2026-01-15.csv.gz"
    merged.parent.mkdir(parents=True)
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["merge_date", "id", "merge_into_id"])
    writer.writerow(
        ["2026-01-15", f"https://openalex.org/{old_key}", f"https://openalex.org/{survivor_key}"]
    )
    merged.write_bytes(gzip.compress(rows.getvalue().encode()))
    return folder / "merged_ids"


def later(record: dict[str, Any], days: int) -> str:
    stamp = dt.datetime.fromisoformat(record["updated_date"]) + dt.timedelta(days=days)
    return stamp.isoformat()


class TestANewerRecord:
    def test_changes_the_authors_and_the_graph_follows(self, running: str, tmp_path: Path) -> None:
        url = running
        records = read_jsonl(MEMBER_FILE)
        record = max(records, key=lambda r: len(r["authorships"]))
        assert_graph_matches_the_authorships(url)
        dropped = record["authorships"][-1]["author"]["id"].rsplit("/", 1)[1]
        changed = json.loads(json.dumps(record))
        changed["updated_date"] = later(record, 1)
        changed["authorships"] = [
            *changed["authorships"][:-1],
            {
                "author": {"id": f"https://openalex.org/{NEW_AUTHOR}", "display_name": "Nu Author"},
                "institutions": [],
                "raw_author_name": "Nu Author",
            },
        ]
        changed["title"] = "A corrected title"
        done = import_into(url, write_jsonl(tmp_path / "works-newer.jsonl.gz", [changed]))
        totals = done.result.totals
        assert (totals.updated, totals.inserted, totals.unchanged) == (1, 0, 0)
        ((payload,),) = fetch(
            url, "SELECT payload FROM outbox_events WHERE event_type = 'works.changed'"
        )
        ids = mapping(url, "SELECT openalex_id, id FROM researchers")
        before = json.loads(payload) if isinstance(payload, str) else payload
        assert (
            ids[dropped] in before["authors_before"]
            and ids.get(NEW_AUTHOR) not in before["authors_before"]
        )
        eventually(lambda: settled(url), timeout=30)
        assert_graph_matches_the_authorships(url)
        ((title,),) = fetch(
            url, "SELECT title FROM works WHERE openalex_id = :w", w=changed["id"][21:]
        )
        assert title == "A corrected title"
        on_work = [
            key
            for (key,) in fetch(
                url,
                "SELECT r.openalex_id FROM authorships a JOIN researchers r "
                "ON r.id = a.researcher_id JOIN works w ON w.id = a.work_id "
                "WHERE w.openalex_id = :w ORDER BY a.position",
                w=changed["id"][21:],
            )
        ]
        assert dropped not in on_work and on_work[-1] == NEW_AUTHOR
        # The newcomer has a trust snapshot and the member's counters moved with the graph.
        ((snapshots,),) = fetch(
            url,
            "SELECT COUNT(*) FROM trust_snapshots t JOIN researchers r ON r.id = t.researcher_id "
            "WHERE r.openalex_id = :a AND t.is_current",
            a=NEW_AUTHOR,
        )
        assert snapshots == 1

        # The same record again, and an older one: nothing changes, no event.
        events = fetch(url, "SELECT COUNT(*) FROM outbox_events")
        older = json.loads(json.dumps(record))
        older["updated_date"] = later(record, -30)
        older["title"] = "A stale title"
        again = import_into(
            url,
            write_jsonl(tmp_path / "works-again.jsonl.gz", [changed]),
            write_jsonl(tmp_path / "works-older.jsonl.gz", [older]),
        )
        assert again.result.totals.unchanged == 2
        assert fetch(url, "SELECT COUNT(*) FROM outbox_events") == events
        assert fetch(
            url, "SELECT title FROM works WHERE openalex_id = :w", w=changed["id"][21:]
        ) == [("A corrected title",)]


class TestAMergedAuthorRecord:
    def test_moves_everything_to_the_survivor_whose_ids_answer(
        self, running: str, tmp_path: Path
    ) -> None:
        url = running
        settings = settings_for(url)
        ids = mapping(url, "SELECT openalex_id, id FROM researchers")
        # A co-author of the member's with a follower, merged into the member.
        old_key = next(
            key
            for (key,) in fetch(
                url,
                "SELECT r.openalex_id FROM coauthor_edges e JOIN researchers r "
                "ON r.id = e.coauthor_id WHERE e.researcher_id = :m ORDER BY e.weight DESC",
                m=ids[MEMBER],
            )
        )
        old, survivor = ids[old_key], ids[MEMBER]
        (fan, both) = confirmed_accounts(settings, 2)
        follow_all(settings, old, [fan.account_id, both.account_id])
        follow_all(settings, survivor, [both.account_id])
        eventually(lambda: settled(url), timeout=30)
        works_before = {
            w
            for (w,) in fetch(
                url, "SELECT work_id FROM authorships WHERE researcher_id = :r", r=old
            )
        }
        merged = merged_ids_file(tmp_path, "authors", old_key, MEMBER)
        done = import_into(url, merged)
        assert done.result.totals.updated == 1
        eventually(lambda: settled(url), timeout=30)

        assert fetch(url, "SELECT COUNT(*) FROM authorships WHERE researcher_id = :r", r=old) == [
            (0,)
        ]
        assert {
            w
            for (w,) in fetch(
                url, "SELECT work_id FROM authorships WHERE researcher_id = :r", r=survivor
            )
        } >= works_before
        followers = mapping(url, "SELECT id, followers_count FROM researchers")
        assert (followers[old], followers[survivor]) == (0, 2)  # the shared follower counts once
        assert fetch(
            url,
            "SELECT old_id, survivor_id, moved_follows FROM openalex_merges",
        ) == [(old_key, MEMBER, 1)]
        assert_graph_matches_the_authorships(url)

        ((old_name,),) = fetch(url, "SELECT display_name FROM researchers WHERE id = :r", r=old)
        with serve(create_app(settings_for(url, in_process_workers=False))) as server:
            by_openalex = server.graphql(
                "query($a: String!) { researcher(openalexId: $a) { id counts { followers } } }",
                {"a": old_key},
            )
            by_node = server.graphql(
                "query($id: ID!) { node(id: $id) { id } }",
                {"id": to_global_id("Researcher", old)},
            )
            search = server.graphql(
                "query($q: String!) { researchers(search: $q, first: 100) "
                "{ edges { node { id } } } }",
                {"q": old_name},
            )
        survivor_id = to_global_id("Researcher", survivor)
        assert by_openalex["data"]["researcher"] == {"id": survivor_id, "counts": {"followers": 2}}
        assert by_node["data"]["node"] == {"id": survivor_id}
        found = {e["node"]["id"] for e in search["data"]["researchers"]["edges"]}
        assert to_global_id("Researcher", old) not in found

        # The same list again moves nothing.
        again = import_into(url, merged)
        assert again.result.totals.unchanged == 1


class TestAMergedWork:
    def test_goes_with_its_rows_and_the_graph_follows(self, running: str, tmp_path: Path) -> None:
        url = running
        # The member's work with the most authors, merged into another of the member's works.
        works = fetch(
            url,
            "SELECT w.openalex_id, w.id, COUNT(*) FROM works w JOIN authorships a "
            "ON a.work_id = w.id WHERE w.id IN (SELECT work_id FROM authorships m "
            "JOIN researchers r ON r.id = m.researcher_id WHERE r.openalex_id = :m) "
            "GROUP BY w.id ORDER BY 3 DESC, 1",
            m=MEMBER,
        )
        (old_key, old, authors), (survivor_key, survivor, _) = works[0], works[-1]
        assert authors > 2
        children = {
            "authorships": "SELECT COUNT(*) FROM authorships WHERE work_id = :w",
            "their institutions": "SELECT COUNT(*) FROM authorship_institutions ai "
            "JOIN authorships a ON a.id = ai.authorship_id WHERE a.work_id = :w",
            "topics": "SELECT COUNT(*) FROM work_topics WHERE work_id = :w",
        }
        before = {what: fetch(url, sql, w=old)[0][0] for what, sql in children.items()}
        assert all(before.values()), before  # the old work had rows of each kind to lose

        done = import_into(url, merged_ids_file(tmp_path, "works", old_key, survivor_key))
        assert done.result.totals.updated == 1
        eventually(lambda: settled(url), timeout=30)

        assert fetch(url, "SELECT id FROM works WHERE id IN (:o, :s)", o=old, s=survivor) == [
            (survivor,)
        ]
        assert {what: fetch(url, sql, w=old)[0][0] for what, sql in children.items()} == (
            dict.fromkeys(children, 0)
        )
        ((event,),) = fetch(
            url, "SELECT COUNT(*) FROM outbox_events WHERE event_type = 'works.changed'"
        )
        assert event == 1
        assert_graph_matches_the_authorships(url)
