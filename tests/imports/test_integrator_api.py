"""The integrator mutations over a real server: ``importWorks`` (OpenAlex work records, a result
per record) and ``addWork`` (one work, authors by OpenAlex id or ORCID iD), for an API key with
scope ``import`` only, within the record and body caps, one transaction each with its events;
and, with the app's own relay and worker, the authors' counts, edges, clusters and trust
following within seconds."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from service.accounts.secrets import new_token
from service.accounts.service import API_KEY_PREFIX
from service.app import create_app
from service.cli import _create_api_key
from service.config import Settings
from service.graphql.relay import to_global_id
from tests.imports.support import MEMBER_FILE, WORKS_FILE, read_jsonl
from tests.support import (
    LiveServer,
    contract,
    errors_of,
    eventually,
    serve,
    settings_for,
    writer_engine,
)

DOCUMENT = contract("import_works.graphql")
VIEWER_ACTIONS = contract("viewer_actions.graphql")
OPENALEX = "https://openalex.org/"
ARJUN_ORCID = "0000-0002-1825-0097"
NEW_ORCID = "0000-0001-5109-3700"
BAD_ORCID = "0000-0002-1825-0098"
"""ARJUN_ORCID with its check digit off by one."""
KAIYUE, MEI = "A9000000003", "A9000000008"
"""OpenAlex ids the tests give two demo researchers (the demo graph has none)."""


@dataclass
class Site:
    server: LiveServer
    url: str
    key: str
    """An API key with scope ``import``."""
    settings: Settings

    def call(self, operation: str, token: str | None = None, **variables: Any) -> dict[str, Any]:
        return self.server.graphql(DOCUMENT, variables, token=token, operation=operation)

    def import_works(self, records: Sequence[object]) -> dict[str, Any]:
        body = self.call("ImportWorks", self.key, records=list(records))
        assert "errors" not in body, body
        payload: dict[str, Any] = body["data"]["importWorks"]
        return payload

    def add_work(self, token: str | None = None, **fields: Any) -> dict[str, Any]:
        return self.call("AddWork", self.key if token is None else token, input=fields)

    def sql(self, statement: str, **params: Any) -> list[Any]:
        return sql(self.url, statement, **params)

    def events(self) -> list[tuple[str, dict[str, Any]]]:
        rows = self.sql(
            "SELECT event_type, payload FROM outbox_events "
            "WHERE event_type LIKE 'works.%' ORDER BY id"
        )
        return [(t, p if isinstance(p, dict) else json.loads(p)) for t, p in rows]

    def researcher(
        self, fields: str, *, openalex_id: str | None = None, orcid: str | None = None
    ) -> dict[str, Any]:
        """A researcher by OpenAlex id or ORCID iD, as integrators look one up."""
        argument, value = ("openalexId", openalex_id) if openalex_id else ("orcid", orcid)
        body = self.server.graphql(
            f"query($v: String!) {{ researcher({argument}: $v) {{ {fields} }} }}", {"v": value}
        )
        assert "errors" not in body, body
        found: dict[str, Any] = body["data"]["researcher"]
        return found

    def named(self, name: str) -> str:
        body = self.server.graphql(
            "query($q: String!) { researchers(search: $q) { edges { node { id } } } }", {"q": name}
        )
        return str(body["data"]["researchers"]["edges"][0]["node"]["id"])


def sql(url: str, statement: str, **params: Any) -> list[Any]:
    """One statement in a transaction of its own; its rows, if any."""

    async def run() -> list[Any]:
        engine = writer_engine(settings_for(url))
        try:
            async with engine.begin() as connection:
                result = await connection.execute(text(statement), params)
                return [tuple(row) for row in result.all()] if result.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(run())


def import_key(url: str, name: str = "crossref-sync") -> str:
    """A key made as ``bzpeer api-key create --scope import`` makes it."""
    return asyncio.run(_create_api_key(settings_for(url), name, "import"))


def key_of_scope(url: str, scope: str) -> str:
    """A key of a scope ``bzpeer api-key create`` does not offer yet, stored as it stores one."""
    plain, digest = new_token(API_KEY_PREFIX)
    sql(
        url,
        "INSERT INTO api_keys (name, scope, key_hash, created_at) "
        "VALUES (:name, :scope, :digest, CURRENT_TIMESTAMP)",
        name=f"{scope}-key",
        scope=scope,
        digest=digest,
    )
    return plain


def record(
    number: int,
    title: str | None,
    authors: Sequence[tuple[str | None, str]],
    updated: str = "2024-05-01T00:00:00",
) -> dict[str, Any]:
    """An OpenAlex work object with the fields the importer reads."""
    return {
        "id": f"{OPENALEX}W{number}",
        "title": title,
        "display_name": title,
        "type": "article",
        "publication_year": 2024,
        "updated_date": updated,
        "authorships": [
            {
                "author_position": "middle",
                "author": {"id": f"{OPENALEX}{a}" if a else None, "display_name": name},
                "raw_author_name": name,
                "institutions": [],
            }
            for a, name in authors
        ],
    }


@contextlib.contextmanager
def open_site(url: str, **overrides: Any) -> Iterator[Site]:
    key = import_key(url)
    settings = settings_for(url, **overrides)
    with serve(create_app(settings)) as server:
        yield Site(server, url, key, settings)


def mailed_code(site: Site, to: str) -> str:
    """The code of the confirmation mail to ``to``, from the .eml files of the embedded mailer
    (written after the sign-up commits)."""

    def written() -> str:
        for path in sorted(site.settings.mail_dir.glob("*.eml")):
            text = path.read_text()
            if f"To: {to}" in text and (found := re.search(r"code: (\S+)", text)):
                return found.group(1)
        raise AssertionError(f"no mail to {to} yet")

    return eventually(written)


@pytest.fixture
def site(empty_url: str, tmp_path: Path) -> Iterator[Site]:
    """An empty database, no workers (events stay in the outbox, where the tests count them)."""
    with open_site(
        empty_url,
        in_process_workers=False,
        import_max_records=8,
        data_dir=tmp_path,
        argon2_memory_kib=19 * 1024,
        argon2_time_cost=2,
    ) as site:
        yield site


@pytest.fixture
def demo_site(fresh_demo_url: str, tmp_path: Path) -> Iterator[Site]:
    """The demo graph, no workers; Arjun Raghavan has an ORCID iD and Mei Tanaka an OpenAlex
    id."""
    sql(
        fresh_demo_url,
        "UPDATE researchers SET orcid = :orcid WHERE display_name = 'Arjun Raghavan'",
        orcid=ARJUN_ORCID,
    )
    sql(
        fresh_demo_url,
        "UPDATE researchers SET openalex_id = :id WHERE display_name = 'Mei Tanaka'",
        id=MEI,
    )
    with open_site(fresh_demo_url, in_process_workers=False, data_dir=tmp_path) as site:
        yield site


def statuses(payload: dict[str, Any]) -> list[tuple[int, str | None, str]]:
    return [(r["index"], r["openalexId"], r["status"]) for r in payload["results"]]


def count_works(site: Site) -> int:
    ((count,),) = site.sql("SELECT count(*) FROM works")
    return int(count)


class TestImportWorks:
    def test_a_result_per_record_in_order_then_unchanged_then_updated(self, site: Site) -> None:
        real = read_jsonl(MEMBER_FILE)[0]
        first = record(
            9000000001,
            "Integrator test work",
            [("A9000000101", "Ada Newcomer"), (None, "Nameless Author"), ("A9000000102", "Bo")],
        )
        records: list[object] = [
            real,
            first,
            "W9000000002",  # not an object
            {"title": "A work without an id"},
            record(9000000003, None, [("A9000000101", "Ada Newcomer")]),
            record(9000000001, "Integrator test work, again", []),
        ]
        payload = site.import_works(records)
        real_id = real["id"].removeprefix(OPENALEX)
        assert statuses(payload) == [
            (0, real_id, "CREATED"),
            (1, "W9000000001", "CREATED"),
            (2, None, "REJECTED"),
            (3, None, "REJECTED"),
            (4, "W9000000003", "REJECTED"),
            (5, "W9000000001", "REJECTED"),
        ]
        results = payload["results"]
        assert [r["reason"] for r in results] == [
            None,
            None,
            "not a JSON object (str)",
            "no OpenAlex work id",
            "no title",
            "repeated (first at index 1); first kept",
        ]
        assert (payload["created"], payload["updated"], payload["unchanged"]) == (2, 0, 0)
        assert payload["rejected"] == 4
        # The authorship without an author id is left out, and said so on its record.
        assert results[1]["notes"] == [
            {
                "subject": "W9000000001",
                "reason": "authorship 2 has no author id (Nameless Author)",
                "repaired": False,
            }
        ]
        assert results[0]["work"]["title"] == real["title"]
        assert [r["work"] for r in results[2:]] == [None] * 4
        # Mapped by the importer's own mapping: the DOI without its resolver, the author list in
        # order without the entry that has no id.
        work_id = results[1]["work"]["id"]
        authors = site.server.graphql(
            "query($id: ID!) { work(id: $id) { authorships { position author { openalexId } } } }",
            {"id": work_id},
        )["data"]["work"]["authorships"]
        assert [(a["position"], a["author"]["openalexId"]) for a in authors] == [
            (1, "A9000000101"),
            (3, "A9000000102"),
        ]
        ((doi,),) = site.sql("SELECT doi FROM works WHERE openalex_id = :id", id=real_id)
        assert doi == real["doi"].removeprefix("https://doi.org/").lower()
        added = site.events()
        assert sorted(t for t, _ in added) == ["works.added", "works.added"]

        again = site.import_works(records)
        assert [s for _, _, s in statuses(again)] == ["UNCHANGED"] * 2 + ["REJECTED"] * 4
        assert [r["work"]["id"] for r in again["results"][:2]] == [
            r["work"]["id"] for r in results[:2]
        ]
        assert site.events() == added  # nothing changed, nothing to tell the workers

        newer = record(
            9000000001,
            "Integrator test work (revised)",
            [("A9000000102", "Bo"), ("A9000000103", "Cy Third")],
            updated="2024-06-01T00:00:00",
        )
        older = record(9000000001, "An older copy", [], updated="2023-01-01")
        changed = site.import_works([newer, real])
        assert statuses(changed) == [(0, "W9000000001", "UPDATED"), (1, real_id, "UNCHANGED")]
        assert changed["results"][0]["work"]["title"] == "Integrator test work (revised)"
        authors = site.server.graphql(
            "query($id: ID!) { work(id: $id) { authorships { author { openalexId } } } }",
            {"id": work_id},
        )["data"]["work"]["authorships"]
        assert [a["author"]["openalexId"] for a in authors] == ["A9000000102", "A9000000103"]
        ((stored_id,),) = site.sql("SELECT id FROM works WHERE openalex_id = 'W9000000001'")
        before = dict(
            site.sql(
                "SELECT openalex_id, id FROM researchers "
                "WHERE openalex_id IN ('A9000000101', 'A9000000102')"
            )
        )
        assert site.events()[len(added) :] == [
            (
                "works.changed",
                {
                    "work_id": stored_id,
                    "authors_before": [before["A9000000101"], before["A9000000102"]],
                },
            )
        ]
        assert statuses(site.import_works([older])) == [(0, "W9000000001", "UNCHANGED")]

    def test_more_records_than_the_cap_is_refused_whole(self, site: Site) -> None:
        records = [record(9000000010 + i, f"Work {i}", [("A9000000101", "Ada")]) for i in range(9)]
        body = site.call("ImportWorks", site.key, records=records)
        assert errors_of(body) == ["BAD_USER_INPUT"]
        (error,) = body["errors"]
        assert error["extensions"]["max"] == 8 and error["extensions"]["argument"] == "records"
        assert "At most 8 records" in error["message"]
        assert body["data"] is None
        assert count_works(site) == 0 and site.events() == []
        assert site.import_works(records[:8])["created"] == 8

    def test_a_body_over_the_cap_is_refused_before_anything_runs(self, site: Site) -> None:
        """Full OpenAlex records are large (median 16 KB): the body cap (256 KiB by default)
        binds long before the record cap."""
        limit = site.settings.max_body_bytes
        records: list[dict[str, Any]] = []
        with gzip.open(WORKS_FILE, "rb") as lines:
            for line in lines:
                records.append(orjson.loads(line))
                if len(orjson.dumps(records)) > limit:
                    break
        default_cap = Settings.model_fields["import_max_records"].default
        assert len(records) < default_cap / 10
        body = {
            "query": DOCUMENT,
            "operationName": "ImportWorks",
            "variables": {"records": records},
        }
        with site.server.client() as client:
            response = client.post(
                "/graphql", json=body, headers={"authorization": f"Bearer {site.key}"}
            )
        assert response.status_code == 413
        (error,) = response.json()["errors"]
        assert error["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
        assert str(limit) in error["message"]
        assert count_works(site) == 0
        # What fits goes through.
        assert site.import_works(records[:8])["created"] == 8


class TestAuthorization:
    def test_only_a_key_with_scope_import(self, site: Site) -> None:
        person = site.server.graphql(
            VIEWER_ACTIONS,
            {"email": "ada@example.org", "password": "correct horse battery", "displayName": "Ada"},
            operation="SignUp",
        )
        assert "errors" not in person, person
        code = mailed_code(site, "ada@example.org")
        confirmed = site.server.graphql(VIEWER_ACTIONS, {"token": code}, operation="ConfirmEmail")
        assert "errors" not in confirmed, confirmed
        signed_in = site.server.graphql(
            VIEWER_ACTIONS,
            {"email": "ada@example.org", "password": "correct horse battery"},
            operation="SignIn",
        )
        session_token = signed_in["data"]["signIn"]["token"]
        other_scope = key_of_scope(site.url, "read")
        records = [record(9000000001, "A work", [("A9000000101", "Ada")])]
        add = {"title": "A work", "authors": [{"orcid": ARJUN_ORCID, "displayName": "Arjun"}]}
        for token, code in (
            (None, "UNAUTHENTICATED"),
            ("bzp_not-a-key", "UNAUTHENTICATED"),
            (session_token, "FORBIDDEN"),
            (other_scope, "FORBIDDEN"),
        ):
            imported = site.server.graphql(
                DOCUMENT, {"records": records}, token=token, operation="ImportWorks"
            )
            added = site.server.graphql(DOCUMENT, {"input": add}, token=token, operation="AddWork")
            assert (errors_of(imported), errors_of(added)) == ([code], [code]), token
            assert imported["data"] is None and added["data"] is None
            if code == "FORBIDDEN":
                assert imported["errors"][0]["extensions"]["requiredScope"] == "import"
        assert count_works(site) == 0 and site.events() == []
        assert site.import_works(records)["created"] == 1


class TestAddWork:
    def test_authors_by_orcid_and_openalex_id_matched_or_created(self, demo_site: Site) -> None:
        site = demo_site
        venues = count_rows(site, "venues")
        body = site.add_work(
            title="  Integrator work with three authors ",
            type="PREPRINT",
            publicationDate="2025-02-03",
            doi="https://doi.org/10.5555/BZPEER.Integrator.1",
            venue={"displayName": "bzpeer demo proceedings"},
            abstract="Written by an integrator's program.",
            authors=[
                {"orcid": f"https://orcid.org/{ARJUN_ORCID}"},
                {"openalexId": f"{OPENALEX}{MEI}", "displayName": "M. Tanaka"},
                {"orcid": NEW_ORCID, "openalexId": "a9000000200", "displayName": "Grace Newton"},
            ],
        )
        assert "errors" not in body, body
        added = body["data"]["addWork"]
        work = added["work"]
        assert work["title"] == "Integrator work with three authors"
        assert (work["doi"], work["publicationYear"]) == ("10.5555/bzpeer.integrator.1", 2025)
        assert work["venue"] == {"displayName": "BZPEER Demo Proceedings"}  # matched, not new
        assert count_rows(site, "venues") == venues
        assert [
            (a["position"], a["author"]["displayName"], a["author"]["orcid"])
            for a in work["authorships"]
        ] == [
            (1, "Arjun Raghavan", ARJUN_ORCID),
            (2, "Mei Tanaka", None),
            (3, "Grace Newton", NEW_ORCID),
        ]
        assert work["authorships"][2]["author"]["openalexId"] == "A9000000200"
        assert [a["created"] for a in added["authors"]] == [False, False, True]
        assert added["authors"][0]["researcher"]["id"] == site.named("Arjun Raghavan")
        pk = int(site.sql("SELECT max(id) FROM works")[0][0])
        assert work["id"] == to_global_id("Work", pk)
        ((openalex_id, raw_name),) = site.sql(
            "SELECT w.openalex_id, a.raw_author_name FROM works w "
            "JOIN authorships a ON a.work_id = w.id WHERE w.id = :id AND a.position = 2",
            id=pk,
        )
        assert (openalex_id, raw_name) == (None, "M. Tanaka")
        assert site.events() == [("works.added", {"work_id": pk})]

        works = count_works(site)
        again = site.add_work(
            title="The same DOI",
            doi="10.5555/bzpeer.INTEGRATOR.1",
            authors=[{"orcid": ARJUN_ORCID}],
        )
        assert errors_of(again) == ["CONFLICT"]
        (error,) = again["errors"]
        assert error["extensions"]["workId"] == work["id"] and work["id"] in error["message"]
        assert error["extensions"]["argument"] == "doi"
        seed = site.add_work(
            title="The seed preprint again",
            arxivId="arXiv:2207.13955v2",
            authors=[{"orcid": ARJUN_ORCID}],
        )
        assert errors_of(seed) == ["CONFLICT"]
        assert "Neural Architecture Search" in seed["errors"][0]["message"]
        assert count_works(site) == works and len(site.events()) == 1

    def test_bad_authors_are_bad_user_input_and_write_nothing(self, demo_site: Site) -> None:
        site = demo_site
        works, researchers = count_works(site), count_rows(site, "researchers")
        for authors, argument in (
            ([{"orcid": BAD_ORCID, "displayName": "Typo"}], "authors.0.orcid"),
            ([{"orcid": ARJUN_ORCID}, {"openalexId": "W123"}], "authors.1.openalexId"),
            ([{"orcid": ARJUN_ORCID}, {"orcid": NEW_ORCID}], "authors.1.displayName"),
            ([{"displayName": "No Ids"}], "authors.0"),
            ([{"orcid": ARJUN_ORCID}, {"orcid": ARJUN_ORCID}], "authors.1"),
            ([], "authors"),
        ):
            body = site.add_work(title="Should not be stored", authors=authors)
            assert errors_of(body) == ["BAD_USER_INPUT"], body
            assert body["errors"][0]["extensions"]["argument"] == argument, body
        # Two ids of two different researchers.
        both = site.add_work(
            title="Should not be stored", authors=[{"orcid": ARJUN_ORCID, "openalexId": MEI}]
        )
        assert errors_of(both) == ["CONFLICT"]
        assert (count_works(site), count_rows(site, "researchers")) == (works, researchers)
        assert site.events() == []


def count_rows(site: Site, table: str) -> int:
    ((count,),) = site.sql(f"SELECT count(*) FROM {table}")
    return int(count)


PROFILE = (
    "displayName counts { works } cluster { id } trust { factors { key detail } } "
    "coauthors(first: 20) { edges { weight node { displayName } } }"
)


def publications(researcher: dict[str, Any]) -> str | None:
    trust = researcher["trust"]
    details = {f["key"]: f["detail"] for f in trust["factors"]} if trust else {}
    return details.get("publications")


def coauthors(researcher: dict[str, Any]) -> dict[str, float]:
    return {e["node"]["displayName"]: e["weight"] for e in researcher["coauthors"]["edges"]}


class TestTheGraphFollows:
    def test_imported_and_added_works_move_counts_edges_clusters_and_trust(
        self, fresh_demo_url: str, tmp_path: Path
    ) -> None:
        """Done when: importWorks with an import key adds a work whose authors' counts, edges,
        clusters and trust follow within seconds (the app's own relay and worker)."""
        for name, openalex_id in (("Kaiyue Lu", KAIYUE), ("Mei Tanaka", MEI)):
            sql(
                fresh_demo_url,
                "UPDATE researchers SET openalex_id = :id WHERE display_name = :name",
                id=openalex_id,
                name=name,
            )
        sql(
            fresh_demo_url,
            "UPDATE researchers SET orcid = :orcid WHERE display_name = 'Arjun Raghavan'",
            orcid=ARJUN_ORCID,
        )
        with open_site(fresh_demo_url, data_dir=tmp_path) as site:  # workers in process
            kaiyue = site.researcher(PROFILE, openalex_id=KAIYUE)
            assert kaiyue["counts"]["works"] == 1 and publications(kaiyue) == "1 work"
            assert "Mei Tanaka" not in coauthors(kaiyue)
            mei_works = site.researcher(PROFILE, openalex_id=MEI)["counts"]["works"]

            imported = site.import_works(
                [
                    record(
                        9000000100,
                        "Speech models meet efficient transformers",
                        [(KAIYUE, "Kaiyue Lu"), (MEI, "Mei Tanaka"), ("A9000000101", "Ada New")],
                    )
                ]
            )
            assert imported["created"] == 1

            def imported_work_is_in_the_graph() -> None:
                kaiyue = site.researcher(PROFILE, openalex_id=KAIYUE)
                assert kaiyue["counts"]["works"] == 2 and publications(kaiyue) == "2 works"
                assert coauthors(kaiyue)["Mei Tanaka"] == 0.5
                assert coauthors(kaiyue)["Ada New"] == 0.5
                mei = site.researcher(PROFILE, openalex_id=MEI)
                assert mei["counts"]["works"] == mei_works + 1
                ada = site.researcher(PROFILE, openalex_id="A9000000101")
                assert ada["counts"]["works"] == 1 and publications(ada) == "1 work"
                assert coauthors(ada) == {"Kaiyue Lu": 0.5, "Mei Tanaka": 0.5}
                assert ada["cluster"] is not None

            eventually(imported_work_is_in_the_graph, timeout=15)

            arjun = site.researcher(PROFILE, orcid=ARJUN_ORCID)
            added = site.add_work(
                title="A dataset of accented speech",
                type="DATASET",
                publicationYear=2025,
                authors=[{"orcid": ARJUN_ORCID}, {"openalexId": "A9000000101"}],
            )
            assert "errors" not in added, added

            def added_work_is_in_the_graph() -> None:
                now = site.researcher(PROFILE, orcid=ARJUN_ORCID)
                works = arjun["counts"]["works"] + 1
                assert now["counts"]["works"] == works and publications(now) == f"{works} works"
                assert coauthors(now)["Ada New"] == 1.0
                ada = site.researcher(PROFILE, openalex_id="A9000000101")
                assert ada["counts"]["works"] == 2 and publications(ada) == "2 works"
                assert coauthors(ada)["Arjun Raghavan"] == 1.0
                assert ada["cluster"] is not None

            eventually(added_work_is_in_the_graph, timeout=15)
            rows = site.sql(
                "SELECT count(*) FROM outbox_events "
                "WHERE event_type = 'works.added' AND processed_at IS NULL"
            )
            assert rows == [(0,)]
