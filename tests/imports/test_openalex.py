"""The KFUPM works and authors (tests/data/openalex/README.md) imported in bulk on each backend:
every record accounted for, every quirk reported where it is, and what the profile shows
recounted from the raw JSON with the standard library."""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.app import create_app
from service.graphql.relay import to_global_id
from tests.imports.support import (
    AUTHORS_FILE,
    LEGACY_FILE,
    MEMBER,
    MEMBER_ORCID,
    WORKS_FILE,
    Imported,
    Raw,
    fetch,
    import_into,
    mapping,
    read_jsonl,
    short,
)
from tests.support import contract, create_database, drop_database, serve, settings_for

RECOUNT = """
SELECT COUNT(DISTINCT theirs.researcher_id)
FROM authorships mine
JOIN authorships theirs
  ON theirs.work_id = mine.work_id AND theirs.researcher_id <> mine.researcher_id
WHERE mine.researcher_id = :id
"""


@pytest.fixture(scope="module")
def imported(backend: str, database_dir: Path) -> Iterator[Imported]:
    """Works and authors imported once per backend, in bulk (everything derived at the end)."""
    url = create_database(backend, database_dir)
    try:
        yield import_into(url, WORKS_FILE, AUTHORS_FILE, bulk_threshold=0)
    finally:
        drop_database(url)


def coauthor_counts(url: str) -> dict[int, int]:
    rows = fetch(url, "SELECT researcher_id, COUNT(*) FROM coauthor_edges GROUP BY researcher_id")
    return {int(r): int(n) for r, n in rows}


class TestEveryRecordAccountedFor:
    def test_counts(self, imported: Imported, raw: Raw, raw_authors: list[Any]) -> None:
        totals = imported.result.totals
        assert (totals.read, totals.inserted, totals.skipped) == (
            len(raw.records) + len(raw_authors),
            3_684 + 85,
            0,
        )
        assert imported.result.derived
        stored = mapping(
            imported.url,
            "SELECT 'works', COUNT(*) FROM works UNION ALL "
            "SELECT 'researchers', COUNT(*) FROM researchers UNION ALL "
            "SELECT 'institutions', COUNT(*) FROM institutions UNION ALL "
            "SELECT 'venues', COUNT(*) FROM venues UNION ALL "
            "SELECT 'topics', COUNT(*) FROM topics UNION ALL "
            "SELECT 'leaf_topics', COUNT(*) FROM topics WHERE level = 'TOPIC' UNION ALL "
            "SELECT 'authorships', COUNT(*) FROM authorships",
        )
        assert stored == {
            "works": 3_684,
            "researchers": 5_394,
            "institutions": 1_323,
            "venues": 780,
            "topics": 871 + 155 + 25 + 4,
            "leaf_topics": 871,
            "authorships": sum(map(len, raw.authors.values())),
        }
        assert stored["authorships"] == 18_138 - 72 - 19  # null ids, repeated authors

    def test_each_left_out_item_has_its_report_line(self, imported: Imported, raw: Raw) -> None:
        lines_of = {short(r["id"]): n for n, r in enumerate(raw.records, start=1)}
        expected_skipped = {
            (
                str(WORKS_FILE),
                lines_of[short(r["id"])],
                short(r["id"]),
                f"authorship {position} has no author id ({a['author']['display_name']})",
            )
            for r in raw.records
            for position, a in enumerate(r["authorships"], start=1)
            if a["author"]["id"] is None
        } | {
            (
                str(WORKS_FILE),
                lines_of[short(r["id"])],
                short(r["id"]),
                f"authorship {position} names an institution with no id (None)",
            )
            for r in raw.records
            for position, a in enumerate(r["authorships"], start=1)
            for i in a["institutions"]
            if i["id"] is None
        }
        assert len(expected_skipped) == 72 + 1
        report = imported.sink.lines
        skipped = {(x.file, x.line, x.entity_id, x.reason) for x in report if x.skipped}
        assert skipped == expected_skipped
        repaired = [x for x in report if not x.skipped]
        repeated = {
            short(r["id"])
            for r in raw.records
            if len(raw.authors[short(r["id"])])
            < sum(1 for a in r["authorships"] if a["author"]["id"])
        }
        assert len(repeated) == 12
        assert {x.entity_id for x in repaired} == repeated
        assert len(repaired) == 19  # W2965273680 repeats 5 authors, W4389327678 4
        assert all(x.line == lines_of[x.entity_id] for x in repaired)

    def test_each_author_is_stored_once_per_work(self, imported: Imported, raw: Raw) -> None:
        rows = fetch(
            imported.url,
            "SELECT w.openalex_id, r.openalex_id FROM authorships a "
            "JOIN works w ON w.id = a.work_id JOIN researchers r ON r.id = a.researcher_id "
            "ORDER BY w.openalex_id, a.position",
        )
        stored: dict[str, list[str]] = {}
        for work, researcher in rows:
            stored.setdefault(work, []).append(researcher)
        assert stored == {w: ids for w, ids in raw.authors.items() if ids}
        hundred = [r for r in raw.records if len(r["authorships"]) == 100]
        assert len(hundred) == 1
        # The 100th entry of the truncated list has no author id ("M Zeolithsynthese").
        assert hundred[0]["authorships"][-1]["author"]["id"] is None
        assert len(stored[short(hundred[0]["id"])]) == 99

    def test_works_carry_the_record(self, imported: Imported, raw: Raw) -> None:
        ((no_doi, no_venue, no_abstract, other, arxiv),) = fetch(
            imported.url,
            "SELECT SUM(CASE WHEN doi IS NULL THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN venue_id IS NULL THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN abstract IS NULL THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN type = 'OTHER' THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN arxiv_id IS NOT NULL THEN 1 ELSE 0 END) FROM works",
        )
        assert (no_doi, no_venue, no_abstract) == (202, 568, 1_339)
        assert other == 20 + 12 + 11 + 2 + 2 + 1  # other, peer-review, erratum, letter, ...
        assert arxiv == sum("10.48550/arxiv." in (r["doi"] or "") for r in raw.records)
        ((untagged,),) = fetch(
            imported.url,
            "SELECT COUNT(*) FROM works w WHERE NOT EXISTS "
            "(SELECT 1 FROM work_topics t WHERE t.work_id = w.id)",
        )
        assert untagged == 90
        record = next(r for r in raw.records if r["abstract_inverted_index"] and r["doi"])
        words = sorted(
            (p, word) for word, ps in record["abstract_inverted_index"].items() for p in ps
        )
        ((doi, abstract, cited, updated),) = fetch(
            imported.url,
            "SELECT doi, abstract, cited_by_count, openalex_updated FROM works "
            "WHERE openalex_id = :id",
            id=short(record["id"]),
        )
        assert doi == record["doi"].removeprefix("https://doi.org/").lower()
        assert abstract == " ".join(word for _, word in words)
        assert cited == record["cited_by_count"]
        assert _utc(updated) == dt.datetime.fromisoformat(record["updated_date"]).replace(
            tzinfo=dt.UTC
        )

    def test_the_same_paper_as_preprint_and_article_stays_two_works(
        self, imported: Imported
    ) -> None:
        types = mapping(
            imported.url,
            "SELECT openalex_id, type FROM works WHERE openalex_id IN "
            "('W4409556117', 'W4413307018')",
        )
        assert sorted(types.values()) == ["ARTICLE", "PREPRINT"]

    def test_names_keep_their_spelling_and_fold_for_search(self, imported: Imported) -> None:
        names = mapping(imported.url, "SELECT display_name, search_name FROM researchers")
        assert names["Péter Móra"] == "peter mora"
        assert names["Yu\u2010Shu Wu"] == "yu-shu wu"


class TestResearchers:
    def test_the_member_shows_what_the_records_say(
        self, imported: Imported, raw: Raw, raw_authors: list[Any]
    ) -> None:
        record = next(a for a in raw_authors if short(a["id"]) == MEMBER)
        ((orcid, works_count, institution, alternatives),) = fetch(
            imported.url,
            "SELECT r.orcid, r.works_count, i.openalex_id, r.alternative_names "
            "FROM researchers r LEFT JOIN institutions i ON i.id = r.affiliation_id "
            "WHERE r.openalex_id = :id",
            id=MEMBER,
        )
        assert orcid == MEMBER_ORCID == record["orcid"].removeprefix("https://orcid.org/")
        assert institution == short(record["last_known_institutions"][0]["id"])
        assert _json(alternatives) == record["display_name_alternatives"]
        assert works_count == sum(MEMBER in ids for ids in raw.authors.values()) == 14
        ids = mapping(imported.url, "SELECT openalex_id, id FROM researchers")
        ((recount,),) = fetch(imported.url, RECOUNT, id=ids[MEMBER])
        assert coauthor_counts(imported.url)[ids[MEMBER]] == recount == len(raw.coauthors[MEMBER])

    def test_affiliation_is_the_last_known_institution_else_the_latest_work(
        self, imported: Imported, raw: Raw, raw_authors: list[Any]
    ) -> None:
        """Author records: their last known institution. Authors known only from works: an
        institution on their most recent authorship that names one."""
        with_record = {
            short(a["id"]): short(a["last_known_institutions"][0]["id"])
            for a in raw_authors
            if a.get("last_known_institutions")
        }
        latest: dict[str, tuple[tuple[str, int, str], str]] = {}
        for record in raw.records:
            when = (record["publication_date"] or "", record["publication_year"] or 0)
            named: dict[str, list[str]] = {}
            for authorship in record["authorships"]:
                if authorship["author"]["id"]:
                    named.setdefault(short(authorship["author"]["id"]), []).extend(
                        short(i["id"]) for i in authorship["institutions"] if i["id"]
                    )
            for author, institutions in named.items():
                if institutions:
                    key = (*when, short(record["id"]))
                    if author not in latest or key > latest[author][0]:
                        latest[author] = (key, min(institutions))
        expected = {a: i for a, (_, i) in latest.items() if a not in _all(raw_authors)}
        expected |= with_record
        stored = mapping(
            imported.url,
            "SELECT r.openalex_id, i.openalex_id FROM researchers r "
            "JOIN institutions i ON i.id = r.affiliation_id",
        )
        assert stored == expected

    def test_an_author_record_without_an_institution_leaves_it_to_nothing(
        self, imported: Imported, raw_authors: list[Any]
    ) -> None:
        without = [short(a["id"]) for a in raw_authors if not a.get("last_known_institutions")]
        assert len(without) == 5
        rows = fetch(
            imported.url,
            "SELECT COUNT(*) FROM researchers WHERE affiliation_id IS NULL AND openalex_id IN ("
            + ", ".join(f"'{k}'" for k in without)
            + ")",
        )
        assert rows == [(5,)]


class TestTheGraphFromTheRecords:
    def test_coauthor_graph_is_one_component(self, imported: Imported) -> None:
        edges = set(fetch(imported.url, "SELECT researcher_id, coauthor_id FROM coauthor_edges"))
        assert edges == {(b, a) for a, b in edges}  # both directions stored
        neighbours: dict[int, set[int]] = {}
        for a, b in edges:
            neighbours.setdefault(a, set()).add(b)
        start = min(neighbours)
        reached = {start}
        queue = deque([start])
        while queue:
            for other in neighbours[queue.popleft()] - reached:
                reached.add(other)
                queue.append(other)
        assert reached == neighbours.keys()

    def test_newman_weights_match_the_raw_json(self, imported: Imported, raw: Raw) -> None:
        ids = mapping(imported.url, "SELECT openalex_id, id FROM researchers")
        most_joint = min(
            raw.coauthors[MEMBER], key=lambda other: (-raw.newman(MEMBER, other)[1], other)
        )
        # W2070209977 lists A5054922583 twice: the work counts once, over its distinct authors.
        repeated = raw.authors["W2070209977"]
        pairs = [
            (MEMBER, most_joint),
            ("A5054922583", next(a for a in repeated if a != "A5054922583")),
        ]
        for a, b in pairs:
            weight, joint = raw.newman(a, b)
            for x, y in ((a, b), (b, a)):
                ((stored_weight, stored_joint),) = fetch(
                    imported.url,
                    "SELECT weight, joint_works FROM coauthor_edges "
                    "WHERE researcher_id = :a AND coauthor_id = :b",
                    a=ids[x],
                    b=ids[y],
                )
                assert stored_joint == joint >= 1
                assert stored_weight == pytest.approx(weight, rel=1e-12)

    def test_the_profile_and_graph_slice_through_the_api(self, imported: Imported) -> None:
        ((member, affiliation),) = fetch(
            imported.url,
            "SELECT id, affiliation_id FROM researchers WHERE openalex_id = :id",
            id=MEMBER,
        )
        center = to_global_id("Researcher", member)
        with serve(create_app(settings_for(imported.url, in_process_workers=False))) as server:
            found = server.graphql(contract("researcher_lookup.graphql"), {"orcid": MEMBER_ORCID})
            page = server.graphql(contract("profile_page.graphql"), {"id": center})
            graph = server.graphql(contract("graph_slice.graphql"), {"id": center})
        assert "errors" not in found and "errors" not in page and "errors" not in graph, (
            found,
            page,
            graph,
        )
        profile = page["data"]["researcher"]
        assert profile["orcid"] == MEMBER_ORCID
        assert profile["affiliation"]["displayName"] == (
            "King Fahd University of Petroleum and Minerals"
        )
        assert profile["counts"]["works"] == 14
        assert profile["trust"]["verificationLevel"] == "L1"
        nodes = {node["id"] for node in graph["data"]["graphSlice"]["nodes"]}
        assert to_global_id("Institution", affiliation) in nodes


class TestImportingAgain:
    def test_changes_nothing_and_emits_nothing(self, imported: Imported) -> None:
        before = fetch(imported.url, "SELECT COUNT(*), MAX(id) FROM outbox_events")
        again = import_into(imported.url, WORKS_FILE, AUTHORS_FILE)
        totals = again.result.totals
        assert (totals.inserted, totals.updated, totals.unchanged) == (0, 0, 3_684 + 85)
        assert not again.result.derived
        assert fetch(imported.url, "SELECT COUNT(*), MAX(id) FROM outbox_events") == before
        # The same items are left out again, and say so again.
        assert len([x for x in again.sink.lines if x.skipped]) == 73


class TestLegacySchema:
    def test_the_2022_sample_maps_onto_our_model(self, empty_url: str) -> None:
        records = read_jsonl(LEGACY_FILE)
        done = import_into(empty_url, LEGACY_FILE)
        assert done.result.totals.inserted == len(records) == 1_000
        types = mapping(empty_url, "SELECT type, COUNT(*) FROM works GROUP BY type")
        assert types["ARTICLE"] == sum(r["type"] == "journal-article" for r in records)
        assert types["PROCEEDINGS_ARTICLE"] == 6
        record = next(r for r in records if r["host_venue"].get("id") and r["ids"].get("pmid"))
        ((venue, pmid, concepts),) = fetch(
            empty_url,
            "SELECT v.display_name, w.pmid, (SELECT COUNT(*) FROM work_topics t "
            "JOIN topics c ON c.id = t.topic_id WHERE t.work_id = w.id AND c.level = 'CONCEPT') "
            "FROM works w JOIN venues v ON v.id = w.venue_id WHERE w.openalex_id = :id",
            id=short(record["id"]),
        )
        assert venue == record["host_venue"]["display_name"]
        assert pmid == record["ids"]["pmid"].rsplit("/", 1)[-1]
        assert concepts == sum(c["score"] >= 0.3 for c in record["concepts"]) > 0
        with_venue = sum(1 for r in records if (r.get("host_venue") or {}).get("id"))
        assert fetch(empty_url, "SELECT COUNT(*) FROM works WHERE venue_id IS NOT NULL") == [
            (with_venue,)
        ]


def _utc(value: Any) -> dt.datetime:
    parsed: dt.datetime = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _json(value: Any) -> Any:
    import json

    return json.loads(value) if isinstance(value, str) else value


def _all(raw_authors: list[Any]) -> set[str]:
    return {short(a["id"]) for a in raw_authors}
