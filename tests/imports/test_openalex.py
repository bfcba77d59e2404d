"""The OpenAlex loader on the real KFUPM file (tests/data/openalex/README.md): every record
accounted for, and the co-author graph recomputed from it checked against the raw JSON, which
the test reads with the standard library."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from service.app import create_app
from service.db.engine import create_engine, create_sessionmaker
from service.graphql.relay import to_global_id
from service.imports.openalex import LoadReport, load_openalex_works
from service.recompute import recompute_all
from tests.support import (
    DATA,
    contract,
    count_statements,
    create_database,
    drop_database,
    serve,
    settings_for,
)

OPENALEX_DATA = DATA / "openalex"
WORKS_FILE = OPENALEX_DATA / "openalex-kfupm-idb-works.jsonl.gz"
MEMBER_FILE = OPENALEX_DATA / "openalex-kfupm-idb-works-A5000180362.jsonl"
MEMBER = "A5000180362"
MEMBER_ORCID = "0000-0001-7056-6323"
OPENALEX = "https://openalex.org/"
MAX_STATEMENTS = 300
"""The file makes about 60,000 rows; a bulk load sends a statement per 1,000 of them."""


def short(url: str) -> str:
    return url.removeprefix(OPENALEX)


@dataclass(frozen=True)
class Raw:
    """What the file says."""

    records: list[dict[str, Any]]

    @cached_property
    def authors(self) -> dict[str, list[str]]:
        """Each work's distinct author ids in list order (null ids left out)."""
        lists: dict[str, list[str]] = {}
        for record in self.records:
            ids = [a["author"]["id"] for a in record["authorships"] if a["author"]["id"]]
            lists[short(record["id"])] = [short(i) for i in dict.fromkeys(ids)]
        return lists

    @cached_property
    def coauthors(self) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for authors in self.authors.values():
            for author in authors:
                found.setdefault(author, set()).update(a for a in authors if a != author)
        return found

    def newman(self, a: str, b: str) -> tuple[float, int]:
        """Newman's weight of a pair (sum of 1/(authors - 1) over joint works) and the number
        of joint works, straight from the author lists."""
        joint = [len(ids) for ids in self.authors.values() if a in ids and b in ids]
        return sum(1 / (n - 1) for n in joint), len(joint)


@pytest.fixture(scope="module")
def raw() -> Raw:
    with gzip.open(WORKS_FILE, "rt", encoding="utf-8") as lines:
        return Raw([json.loads(line) for line in lines])


@dataclass(frozen=True)
class Loaded:
    url: str
    report: LoadReport
    statements: int
    """Statements the load sent (the recompute not included)."""


async def _load(url: str) -> Loaded:
    settings = settings_for(url)
    engine = create_engine(settings, maintenance=True)
    try:
        async with create_sessionmaker(engine)() as session:
            with count_statements(engine) as statements, gzip.open(WORKS_FILE) as lines:
                report = await load_openalex_works(session, lines)
                await session.commit()
            await recompute_all(session, seed=settings.cluster_seed)
            await session.commit()
    finally:
        await engine.dispose()
    return Loaded(url, report, len(statements))


@pytest.fixture(scope="module")
def loaded(backend: str, database_dir: Path) -> Iterator[Loaded]:
    """The file loaded once per backend, committed, and everything derived recomputed."""
    url = create_database(backend, database_dir)
    try:
        yield asyncio.run(_load(url))
    finally:
        drop_database(url)


def fetch(url: str, statement: str, **params: Any) -> list[tuple[Any, ...]]:
    async def go() -> list[tuple[Any, ...]]:
        engine = create_engine(settings_for(url))
        try:
            async with create_sessionmaker(engine)() as session:
                return [tuple(row) for row in await session.execute(text(statement), params)]
        finally:
            await engine.dispose()

    return asyncio.run(go())


def mapping(url: str, statement: str) -> dict[Any, Any]:
    """The rows of a two-column query as a dict."""
    return {key: value for key, value in fetch(url, statement)}


def ids_by_openalex(url: str, table: str) -> dict[str, int]:
    return mapping(url, f"SELECT openalex_id, id FROM {table}")


def coauthor_counts(url: str) -> dict[int, int]:
    rows = fetch(url, "SELECT researcher_id, COUNT(*) FROM coauthor_edges GROUP BY researcher_id")
    return {int(r): int(n) for r, n in rows}


RECOUNT = """
SELECT COUNT(DISTINCT theirs.researcher_id)
FROM authorships mine
JOIN authorships theirs
  ON theirs.work_id = mine.work_id AND theirs.researcher_id <> mine.researcher_id
WHERE mine.researcher_id = :id
"""


class TestLoadOpenAlexWorks:
    def test_every_record_is_accounted_for(self, loaded: Loaded, raw: Raw) -> None:
        report = loaded.report
        topics = {
            short(node["id"])
            for record in raw.records
            for topic in record["topics"]
            for node in (topic, topic["subfield"], topic["field"], topic["domain"])
        }
        assert (report.works, report.researchers, report.institutions, report.venues) == (
            3_684,
            5_394,
            1_323,
            780,
        )
        assert report.topics == len(topics) == 871 + 155 + 25 + 4
        assert report.authorships == sum(map(len, raw.authors.values())) == 18_138 - 72 - 19

        null_authors = [
            f"{short(r['id'])}: authorship {position} has no author id "
            f"({a['author']['display_name']})"
            for r in raw.records
            for position, a in enumerate(r["authorships"], start=1)
            if a["author"]["id"] is None
        ]
        assert len(null_authors) == 72
        # The only other thing left out: one institution entry whose every field is null.
        null_institutions = [
            f"{short(r['id'])}: authorship {position} names an institution with no id (None)"
            for r in raw.records
            for position, a in enumerate(r["authorships"], start=1)
            for i in a["institutions"]
            if i["id"] is None
        ]
        assert len(null_institutions) == 1
        assert sorted(report.skipped) == sorted(null_authors + null_institutions)
        repeated = {
            short(r["id"])
            for r in raw.records
            if len(raw.authors[short(r["id"])])
            < sum(1 for a in r["authorships"] if a["author"]["id"])
        }
        assert len(repeated) == 12
        assert {line.split(":")[0] for line in report.merged} == repeated
        assert len(report.merged) == 19  # W2965273680 repeats 5 authors, W4389327678 4

        stored = mapping(
            loaded.url,
            "SELECT 'works', COUNT(*) FROM works UNION ALL "
            "SELECT 'researchers', COUNT(*) FROM researchers UNION ALL "
            "SELECT 'institutions', COUNT(*) FROM institutions UNION ALL "
            "SELECT 'venues', COUNT(*) FROM venues UNION ALL "
            "SELECT 'topics', COUNT(*) FROM topics UNION ALL "
            "SELECT 'leaf_topics', COUNT(*) FROM topics WHERE level = 'TOPIC' UNION ALL "
            "SELECT 'authorships', COUNT(*) FROM authorships",
        )
        assert stored == {
            "works": report.works,
            "researchers": report.researchers,
            "institutions": report.institutions,
            "venues": report.venues,
            "topics": report.topics,
            "leaf_topics": 871,
            "authorships": report.authorships,
        }
        assert loaded.statements < MAX_STATEMENTS

    def test_each_author_is_stored_once_per_work(self, loaded: Loaded, raw: Raw) -> None:
        rows = fetch(
            loaded.url,
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
        # The 100th entry (truncated list) has no author id: "M Zeolithsynthese", a parse
        # artefact of OpenAlex's (German: zeolite synthesis).
        assert hundred[0]["authorships"][-1]["author"]["id"] is None
        assert len(stored[short(hundred[0]["id"])]) == 99

    def test_rows_carry_the_record(self, loaded: Loaded, raw: Raw) -> None:
        ((orcid, works_count),) = fetch(
            loaded.url,
            "SELECT orcid, works_count FROM researchers WHERE openalex_id = :id",
            id=MEMBER,
        )
        assert orcid == MEMBER_ORCID
        assert works_count == sum(MEMBER in ids for ids in raw.authors.values()) == 14
        names = mapping(loaded.url, "SELECT display_name, search_name FROM researchers")
        assert names["Péter Móra"] == "peter mora"
        assert names["Yu\u2010Shu Wu"] == "yu-shu wu"

        ((no_doi, no_venue, no_abstract, other, arxiv),) = fetch(
            loaded.url,
            "SELECT SUM(CASE WHEN doi IS NULL THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN venue_id IS NULL THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN abstract IS NULL THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN type = 'OTHER' THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN arxiv_id IS NOT NULL THEN 1 ELSE 0 END) FROM works",
        )
        assert (no_doi, no_venue, no_abstract) == (202, 568, 1_339)
        # other, peer-review, erratum, letter, paratext, retraction
        assert other == 20 + 12 + 11 + 2 + 2 + 1
        assert arxiv == sum("10.48550/arxiv." in (r["doi"] or "") for r in raw.records)
        ((untagged,),) = fetch(
            loaded.url,
            "SELECT COUNT(*) FROM works w WHERE NOT EXISTS "
            "(SELECT 1 FROM work_topics t WHERE t.work_id = w.id)",
        )
        assert untagged == 90

        record = next(r for r in raw.records if r["abstract_inverted_index"])
        words = sorted(
            (p, word) for word, ps in record["abstract_inverted_index"].items() for p in ps
        )
        ((doi, abstract),) = fetch(
            loaded.url,
            "SELECT doi, abstract FROM works WHERE openalex_id = :id",
            id=short(record["id"]),
        )
        assert doi == record["doi"].removeprefix("https://doi.org/").lower()
        assert abstract == " ".join(word for _, word in words)

    def test_affiliation_is_the_most_named_institution(self, loaded: Loaded, raw: Raw) -> None:
        """Most authorships naming it; a tie goes to the one the author was first seen with."""
        named: dict[str, Counter[str]] = {}
        for record in raw.records:
            # An author listed twice on a work: one authorship, naming the union.
            on_work: dict[str, dict[str, None]] = {}
            for authorship in record["authorships"]:
                if authorship["author"]["id"]:
                    on_work.setdefault(short(authorship["author"]["id"]), {}).update(
                        (short(i["id"]), None) for i in authorship["institutions"] if i["id"]
                    )
            for author, institutions in on_work.items():
                named.setdefault(author, Counter()).update(list(institutions))
        # most_common keeps first-counted order among equal counts.
        expected = {a: c.most_common(1)[0][0] for a, c in named.items() if c}
        stored = mapping(
            loaded.url,
            "SELECT r.openalex_id, i.openalex_id FROM researchers r "
            "JOIN institutions i ON i.id = r.affiliation_id",
        )
        assert stored == expected

    def test_coauthor_graph_is_one_component(self, loaded: Loaded) -> None:
        edges = {
            (a, b)
            for a, b in fetch(loaded.url, "SELECT researcher_id, coauthor_id FROM coauthor_edges")
        }
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
        ((with_coauthors,),) = fetch(
            loaded.url,
            "SELECT COUNT(DISTINCT mine.researcher_id) FROM authorships mine "
            "JOIN authorships theirs "
            "ON theirs.work_id = mine.work_id AND theirs.researcher_id <> mine.researcher_id",
        )
        assert len(reached) == with_coauthors

    def test_coauthor_counts_equal_a_recount(self, loaded: Loaded, raw: Raw) -> None:
        ids = ids_by_openalex(loaded.url, "researchers")
        counts = coauthor_counts(loaded.url)
        hundred = next(r for r in raw.records if len(r["authorships"]) == 100)
        picked = {
            "member": ids[MEMBER],
            "most co-authors": min(counts, key=lambda r: (-counts[r], r)),
            "exactly one": min(r for r, n in counts.items() if n == 1),
            "author listed twice on a work": ids["A5054922583"],
            "last of the 100 authors": ids[raw.authors[short(hundred["id"])][-1]],
        }
        assert len(set(picked.values())) == len(picked)
        openalex = {v: k for k, v in ids.items()}
        for why, researcher in picked.items():
            ((recount,),) = fetch(loaded.url, RECOUNT, id=researcher)
            expected = len(raw.coauthors[openalex[researcher]])
            assert counts[researcher] == recount == expected, why

    def test_newman_weights_match_the_raw_json(self, loaded: Loaded, raw: Raw) -> None:
        ids = ids_by_openalex(loaded.url, "researchers")
        most_joint = min(
            raw.coauthors[MEMBER], key=lambda other: (-raw.newman(MEMBER, other)[1], other)
        )
        # W2070209977 lists A5054922583 twice: the pair's work counts once, with 1/(n - 1) over
        # its distinct authors.
        repeated = raw.authors["W2070209977"]
        pairs = [
            (MEMBER, most_joint),
            ("A5054922583", next(a for a in repeated if a != "A5054922583")),
        ]
        for a, b in pairs:
            weight, joint = raw.newman(a, b)
            assert joint >= 1
            for x, y in ((a, b), (b, a)):
                ((stored_weight, stored_joint),) = fetch(
                    loaded.url,
                    "SELECT weight, joint_works FROM coauthor_edges "
                    "WHERE researcher_id = :a AND coauthor_id = :b",
                    a=ids[x],
                    b=ids[y],
                )
                assert stored_joint == joint
                assert stored_weight == pytest.approx(weight, rel=1e-12)

    def test_graph_slice_shows_institution_and_top_topics(self, loaded: Loaded) -> None:
        ((member, affiliation),) = fetch(
            loaded.url,
            "SELECT id, affiliation_id FROM researchers WHERE openalex_id = 'A5000180362'",
        )
        top_topics = [
            topic_id
            for (topic_id,) in fetch(
                loaded.url,
                "SELECT topic_id FROM researcher_topics WHERE researcher_id = :r "
                "ORDER BY work_count DESC, topic_id LIMIT 3",
                r=member,
            )
        ]
        center = to_global_id("Researcher", member)
        with serve(create_app(settings_for(loaded.url))) as server:
            body = server.graphql(contract("graph_slice.graphql"), {"id": center})
        assert "errors" not in body, body
        graph = body["data"]["graphSlice"]
        assert len(graph["nodes"]) == 50 and graph["truncated"]
        ids = {node["id"] for node in graph["nodes"]}
        assert to_global_id("Institution", affiliation) in ids
        assert {to_global_id("Topic", t) for t in top_topics} <= ids
        edges = {(e["source"], e["target"], e["kind"]) for e in graph["edges"]}
        assert (center, to_global_id("Institution", affiliation), "AFFILIATED") in edges
        for topic_id in top_topics:
            assert (center, to_global_id("Topic", topic_id), "HAS_TOPIC") in edges
        coauthors = {
            e["target"] if e["source"] == center else e["source"]
            for e in graph["edges"]
            if e["kind"] == "COAUTHOR" and center in (e["source"], e["target"])
        }
        assert len(coauthors) >= 5

    def test_loading_again_adds_nothing(self, loaded: Loaded) -> None:
        async def again() -> LoadReport:
            engine = create_engine(settings_for(loaded.url))
            try:
                async with create_sessionmaker(engine)() as session:
                    report = await load_openalex_works(
                        session, MEMBER_FILE.read_bytes().splitlines()
                    )
                    await session.rollback()
                    return report
            finally:
                await engine.dispose()

        report = asyncio.run(again())
        assert (report.works, report.researchers, report.authorships) == (0, 0, 0)
        assert len(report.skipped) == 14
        assert all(line.endswith(": already loaded") for line in report.skipped)


def work(key: str, *authors: dict[str, Any], **fields: Any) -> str:
    record = {
        "id": OPENALEX + key,
        "title": f"Work {key}",
        "type": "article",
        "authorships": [
            {"author": a, "institutions": a.pop("institutions", []), "raw_author_name": None}
            for a in authors
        ],
        **fields,
    }
    return json.dumps(record)


def author(key: str | None, name: str, orcid: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"id": OPENALEX + key if key else None, "display_name": name, "orcid": orcid, **fields}


class TestReportLines:
    """Each kind of item left out gets its line; nothing else is lost."""

    def test_records_and_items_left_out(self, empty_url: str) -> None:
        nowhere = {"id": None, "display_name": "Nowhere", "ror": None}
        first = [
            "not json",
            json.dumps({"title": "no id"}),
            "",
            work(
                "W1",
                author("A1", "Ana", "https://orcid.org/1234", institutions=[nowhere]),
                author("A2", "Bo", f"https://orcid.org/{MEMBER_ORCID}"),
                author(None, "Cy"),
                topics=[{"id": None, "display_name": "Untopical"}],
            ),
            work("W1", author("A9", "Late")),
            json.dumps({"id": OPENALEX + "W2", "authorships": []}),
            work("W3", author("A3", "Di", MEMBER_ORCID), author("A2", "Bo")),
        ]
        second = [
            work("W1", author("A1", "Ana")),
            work("W4", author("A1", "Ana"), author("A4", "Ed")),
        ]

        async def load_twice(session: Any) -> tuple[LoadReport, LoadReport, dict[Any, Any]]:
            one = await load_openalex_works(session, first)
            two = await load_openalex_works(session, second)
            rows = await session.execute(text("SELECT openalex_id, orcid FROM researchers"))
            return one, two, {key: orcid for key, orcid in rows}

        async def go() -> tuple[LoadReport, LoadReport, dict[Any, Any]]:
            engine = create_engine(settings_for(empty_url))
            try:
                async with create_sessionmaker(engine)() as session:
                    return await load_twice(session)
            finally:
                await engine.dispose()

        one, two, orcids = asyncio.run(go())
        assert one.skipped[0].startswith("line 1: not JSON (")
        assert one.skipped[1:] == [
            "line 2: no OpenAlex work id",
            "W1: repeated at line 5; the first record kept",
            "W2: no title",
            "W1: authorship 1 names an institution with no id (Nowhere)",
            "W1: authorship 3 has no author id (Cy)",
            "W1: a topic has no id (Untopical)",
            "A1: malformed ORCID 'https://orcid.org/1234'; stored without one",
            f"A3: ORCID {MEMBER_ORCID} already belongs to another researcher; stored without it",
        ]
        assert (one.works, one.researchers, one.authorships) == (2, 3, 4)
        assert two.skipped == ["W1: already loaded"]
        assert (two.works, two.researchers, two.authorships) == (1, 1, 2)
        assert orcids == {"A1": None, "A2": MEMBER_ORCID, "A3": None, "A4": None}
