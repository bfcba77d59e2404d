"""``bzpeer import openalex`` as an operator runs it: on the embedded default and on PostgreSQL,
with broken inputs, killed mid-file and restarted, over a snapshot folder with several
processes."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from service.imports.openalex.inputs import discover
from service.imports.openalex.progress import ImportSink
from service.imports.openalex.records import ReportLine
from tests.imports.support import (
    AUTHORS_FILE,
    MEMBER,
    MEMBER_FILE,
    SAME_CONTENT,
    WORKS_FILE,
    Raw,
    fetch,
    import_into,
    mapping,
    read_jsonl,
    write_snapshot,
)
from tests.support import REPO, create_database, drop_database, environment

BZPEER = [sys.executable, "-m", "service.cli"]
SKIPPED_STATUS = 3


def bzpeer(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BZPEER, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def report_rows(path: Path) -> list[list[str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "file\tline\tentity_id\tkind\treason"
    return [line.split("\t") for line in lines[1:]]


def summary_path(stdout: str) -> Path:
    return Path(stdout.rsplit("report: ", 1)[1].split(" (", 1)[0])


class TestTheCommand:
    def test_the_embedded_default(self, tmp_path: Path) -> None:
        data = tmp_path / "data"
        env = environment(BZPEER_DATA_DIR=str(data))
        done = bzpeer(env, "import", "openalex", str(MEMBER_FILE), str(AUTHORS_FILE))
        assert done.returncode in (0, SKIPPED_STATUS), done.stderr
        assert "inserted 99," in done.stdout  # 14 works and 85 authors
        report = summary_path(done.stdout)
        assert report.parent == data / "imports"
        rows = report_rows(report)
        assert done.returncode == (SKIPPED_STATUS if any(r[3] == "skipped" for r in rows) else 0)
        url = f"sqlite:///{data / 'bzpeer.sqlite3'}"
        ((works, orcid),) = fetch(
            url,
            "SELECT works_count, orcid FROM researchers WHERE openalex_id = :id",
            id=MEMBER,
        )
        assert orcid == "0000-0001-7056-6323"
        # 14 new works went through the events (below the bulk threshold): nothing derived
        # yet without workers, one works.added each.
        assert works == 0
        assert fetch(
            url, "SELECT COUNT(*) FROM outbox_events WHERE event_type = 'works.added'"
        ) == [(14,)]
        again = bzpeer(env, "import", "openalex", str(MEMBER_FILE), str(AUTHORS_FILE))
        assert "inserted 0, updated 0, unchanged 99," in again.stdout
        assert fetch(url, "SELECT COUNT(*) FROM outbox_events") == [(14,)]

    def test_postgresql_in_bulk(self, tmp_path: Path) -> None:
        url = create_database("postgresql", tmp_path)
        try:
            env = environment(DATABASE_URL=url, BZPEER_DATA_DIR=str(tmp_path / "data"))
            report = tmp_path / "report.tsv"
            done = bzpeer(
                env,
                "import",
                "openalex",
                str(MEMBER_FILE),
                "--bulk-threshold",
                "0",
                "--report",
                str(report),
            )
            assert done.returncode in (0, SKIPPED_STATUS), done.stderr
            assert "everything derived recomputed" in done.stdout
            assert summary_path(done.stdout) == report
            ((works,),) = fetch(
                url, "SELECT works_count FROM researchers WHERE openalex_id = :id", id=MEMBER
            )
            assert works == 14
            # One summary event instead of one per work.
            assert mapping(url, "SELECT event_type, COUNT(*) FROM outbox_events GROUP BY 1") == {
                "imports.completed": 1
            }
        finally:
            drop_database(url)


class TestBrokenInputs:
    def test_each_problem_has_file_and_line_and_the_rest_goes_on(self, tmp_path: Path) -> None:
        good = read_jsonl(MEMBER_FILE)
        mixed = tmp_path / "works-mixed.jsonl"
        mixed.write_text(
            "\n".join(
                [
                    json.dumps(good[0]),
                    '{"id": "https://openalex.org/W1", "title": ',  # cut off
                    json.dumps({"title": "no id"}),
                    json.dumps([1, 2]),
                    json.dumps({"id": "https://openalex.org/W2"}),  # no title
                    json.dumps(good[1]),
                ]
            )
            + "\n"
        )
        whole = gzip.compress(b"".join(json.dumps(r).encode() + b"\n" for r in good[2:]))
        truncated = tmp_path / "works-truncated.jsonl.gz"
        truncated.write_bytes(whole[: len(whole) // 2])
        unknown = tmp_path / "publishers" / "part_000.gz"
        unknown.parent.mkdir()
        unknown.write_bytes(gzip.compress(b'{"id": "https://openalex.org/P1"}\n'))
        url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
        env = environment(DATABASE_URL=url, BZPEER_DATA_DIR=str(tmp_path / "data"))
        unmigrated = bzpeer(env, "import", "openalex", str(tmp_path))
        assert unmigrated.returncode == 2
        assert "run `bzpeer migrate` first" in unmigrated.stderr
        assert "Traceback" not in unmigrated.stderr
        assert bzpeer(env, "migrate").returncode == 0
        done = bzpeer(env, "import", "openalex", str(tmp_path), "--report", str(tmp_path / "r"))
        assert done.returncode == SKIPPED_STATUS, done.stderr
        rows = report_rows(tmp_path / "r")
        by_file: dict[str, list[list[str]]] = {}
        for row in rows:
            by_file.setdefault(Path(row[0]).name, []).append(row)
        mixed_rows = {(r[1], r[3]): r for r in by_file["works-mixed.jsonl"]}
        assert mixed_rows[("2", "skipped")][4].startswith("not JSON")
        assert mixed_rows[("3", "skipped")][4] == "no OpenAlex work id"
        assert mixed_rows[("4", "skipped")][4].startswith("not a JSON object")
        assert mixed_rows[("5", "skipped")][2:] == ["W2", "skipped", "no title"]
        (cut,) = by_file["works-truncated.jsonl.gz"]
        assert int(cut[1]) >= 1 and cut[2:4] == ["", "skipped"]
        assert "EOFError" in cut[4] or "ended" in cut[4], cut
        (other,) = by_file["part_000.gz"]
        assert other[4] == "not an entity this service imports"
        assert "stopped at line" in done.stderr
        stored = {key for (key,) in fetch(url, "SELECT openalex_id FROM works")}
        wanted = {r["id"].rsplit("/", 1)[1] for r in good[:2]}
        assert wanted <= stored  # the good records around the bad ones
        read_before_the_cut = int(cut[1]) - 1
        assert len(stored) == 2 + read_before_the_cut


class TestKilledAndRestarted:
    @pytest.mark.parametrize("point", ["import.after_commit", "import.before_commit"])
    def test_ends_equal_to_an_uninterrupted_import(
        self, backend: str, tmp_path: Path, point: str
    ) -> None:
        records = read_jsonl(MEMBER_FILE)
        killed_url = create_database(backend, tmp_path)
        whole_url = create_database(backend, tmp_path)
        try:
            args = ("import", "openalex", str(MEMBER_FILE), "--batch-size", "4")
            env = environment(DATABASE_URL=killed_url, BZPEER_DATA_DIR=str(tmp_path / "d"))
            # The process kills itself (SIGKILL) the second time it reaches the point.
            killed = bzpeer(env | {"BZPEER_FAILPOINTS": f"{point}=kill:2"}, *args)
            assert killed.returncode == -9, killed.stderr
            ((done, finished),) = fetch(
                killed_url, "SELECT lines_done, finished_at FROM imported_files"
            )
            assert (done, finished) == (8 if point.endswith("after_commit") else 4, None)
            assert fetch(killed_url, "SELECT COUNT(*) FROM works") == [(done,)]
            resumed = bzpeer(env, *args)
            assert resumed.returncode in (0, SKIPPED_STATUS), resumed.stderr
            assert f"read {len(records) - done:,}," in resumed.stdout
            import_into(whole_url, MEMBER_FILE)
            for statement in (
                "SELECT openalex_id, title, type, doi FROM works ORDER BY openalex_id",
                "SELECT w.openalex_id, r.openalex_id, a.position FROM authorships a "
                "JOIN works w ON w.id = a.work_id JOIN researchers r ON r.id = a.researcher_id "
                "ORDER BY 1, 3",
                "SELECT openalex_id, display_name, orcid FROM researchers ORDER BY 1",
                "SELECT w.openalex_id, COUNT(*) FROM outbox_events e JOIN works w "
                "ON w.id = CAST(" + _payload(backend, "e", "work_id") + " AS INTEGER) "
                "GROUP BY 1 ORDER BY 1",
            ):
                assert fetch(killed_url, statement) == fetch(whole_url, statement), statement
            assert fetch(killed_url, "SELECT COUNT(*) FROM outbox_events") == [(len(records),)]
        finally:
            drop_database(killed_url)
            drop_database(whole_url)


class TestSnapshotFolders:
    # In bulk (threshold 1) the run leaves the authors' affiliations to its derive, which
    # writes them in its rewrite of every researcher; else the run fills them at its end.
    @pytest.mark.parametrize("bulk_threshold", [5_000, 1], ids=["events", "bulk"])
    def test_partitions_over_two_processes_equal_one_file(
        self, backend: str, tmp_path: Path, raw: Raw, bulk_threshold: int
    ) -> None:
        snapshot = write_snapshot(tmp_path / "snapshot", raw.records)
        manifest = snapshot / "works" / "manifest"
        listed = json.loads(manifest.read_text())
        listed["entries"].append(
            {
                "url": "s3://openalex/data/works/updated_date=2025-09-01/part_000.gz",
                "meta": {"content_length": 1, "record_count": 1},
            }
        )
        manifest.write_text(json.dumps(listed))
        parallel_url = create_database(backend, tmp_path)
        single_url = create_database(backend, tmp_path)
        try:
            self._compare(parallel_url, single_url, snapshot, raw, bulk_threshold)
        finally:
            drop_database(parallel_url)
            drop_database(single_url)

    def _compare(
        self, parallel_url: str, single_url: str, snapshot: Path, raw: Raw, bulk_threshold: int
    ) -> None:
        parallel = import_into(parallel_url, snapshot, jobs=2, bulk_threshold=bulk_threshold)
        assert parallel.result.derived == (bulk_threshold == 1)
        import_into(single_url, WORKS_FILE, AUTHORS_FILE)
        assert parallel.result.totals.inserted == len(raw.records) + 85
        (missing,) = parallel.result.missing
        assert "updated_date=2025-09-01" in missing and missing.endswith("not found")
        assert parallel.result.skipped_anything
        for statement in SAME_CONTENT:
            assert fetch(parallel_url, statement) == fetch(single_url, statement), statement


def _payload(backend: str, alias: str, key: str) -> str:
    """A payload field in SQL, on either backend (JSONB on PostgreSQL, JSON text on SQLite)."""
    if backend == "postgresql":
        return f"{alias}.payload ->> '{key}'"
    return f"json_extract({alias}.payload, '$.{key}')"


class TestProgress:
    def test_plain_lines_when_not_a_terminal_and_the_report_file(self, tmp_path: Path) -> None:
        stream = io.StringIO()  # not a terminal: no progress bar
        sink = ImportSink(tmp_path / "report.tsv", total=3_000, stream=stream, interval=0)
        sink.advance(1_000)
        sink.advance(1_000)
        sink.report([ReportLine("works.jsonl", 7, "W1", "no title")])
        sink.close()
        lines = stream.getvalue().splitlines()
        assert len(lines) == 2
        assert lines[0].startswith("import: 1,000 records, ") and "s left" in lines[0]
        assert lines[1].startswith("import: 2,000 records, ")
        assert report_rows(tmp_path / "report.tsv") == [
            ["works.jsonl", "7", "W1", "skipped", "no title"]
        ]

    def test_a_total_only_when_the_manifests_count_every_file(
        self, tmp_path: Path, raw: Raw
    ) -> None:
        snapshot = write_snapshot(tmp_path / "snapshot", raw.records)
        works = snapshot / "works"
        assert discover([works]).expected_total == len(raw.records)
        # The authors partition has no manifest, nor has a file named beside the snapshot:
        # their records would run past the total (the time left fell below zero).
        assert discover([snapshot]).expected_total is None
        assert discover([works, MEMBER_FILE]).expected_total is None
