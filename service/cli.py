"""The ``bzpeer`` command."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson

from service.config import Settings, get_settings

if TYPE_CHECKING:
    from service.imports.openalex.importer import RunResult
    from service.imports.openalex.progress import ImportSink

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schema.graphql"


def export_schema_sdl() -> str:
    from strawberry.printer import print_schema

    from service.graphql.schema import create_schema

    return print_schema(create_schema(Settings())) + "\n"


def cmd_export_schema(args: argparse.Namespace) -> int:
    sdl = export_schema_sdl()
    if args.output == "-":
        sys.stdout.write(sdl)
    else:
        Path(args.output).write_text(sdl)
        print(f"wrote {args.output}")
    return 0


def cmd_migrate(_args: argparse.Namespace) -> int:
    from service.db.migrate import upgrade

    settings = get_settings()
    upgrade(settings.resolved_database_url)
    print(f"migrated {_display_url(settings)}")
    return 0


async def _load_demo(settings: Settings) -> tuple[bool, str | None]:
    """Load the demo graph if absent; return whether it was loaded and the seed researcher's
    global id."""
    from service.db.unit_of_work import command_session, derive_session
    from service.demo.data import SEED_RESEARCHER
    from service.demo.loader import load_demo
    from service.graphql.relay import to_global_id
    from service.researchers.names import fold_name
    from service.researchers.repository import ResearcherRepository

    async with derive_session(settings) as session:
        loaded = await load_demo(session, seed=settings.cluster_seed)
    async with command_session(settings, writes=False) as session:
        found = await ResearcherRepository(session).ids_named(fold_name(SEED_RESEARCHER))
    return loaded, to_global_id("Researcher", found[0]) if found else None


def _invalidate_everything(settings: Settings) -> None:
    """After a command rewrote data outside any event (the demo, a recompute): every API
    process of a Redis deployment drops its cached answers. An embedded server in another
    process keeps its own for at most ``BZPEER_RESPONSE_CACHE_TTL_S``."""
    if settings.redis_url:
        from service.live.publisher import redis_publisher
        from service.live.topics import Channels
        from service.live.versions import EVERYTHING

        redis_publisher(settings.redis_url, Channels(settings.broker_namespace)).invalidate(
            [EVERYTHING]
        )


def cmd_demo_load(_args: argparse.Namespace) -> int:
    settings = get_settings()
    loaded, seed_id = asyncio.run(_load_demo(settings))
    if loaded:
        _invalidate_everything(settings)
    print(
        "demo data loaded" if loaded else "demo data already present",
        f"(seed researcher id {seed_id})",
    )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.db.migrate import upgrade

    if args.api_only:
        # uvicorn's app factory (and its worker processes) read the settings from the environment.
        os.environ["BZPEER_IN_PROCESS_WORKERS"] = "false"
        get_settings.cache_clear()
    settings = get_settings()
    host = args.host or settings.host
    port = args.port or settings.port
    seed_id = None
    if settings.database_url is None:
        # The embedded default sets itself up: migrate the SQLite file, load the demo once.
        upgrade(settings.resolved_database_url)
        _, seed_id = asyncio.run(_load_demo(settings))
    _print_banner(settings, host, port, seed_id)
    if args.workers > 1 and not settings.redis_url:
        print(
            f"warning: {args.workers} processes without REDIS_URL: each has its own in-memory "
            "pub/sub and rate limits, so a live update reaches the other processes' subscribers "
            "only at their next resync (BZPEER_LIVE_RESYNC_INTERVAL_S). Set REDIS_URL to run "
            "more than one process.",
            file=sys.stderr,
        )
    uvicorn.run(
        "service.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=args.workers,
        access_log=False,
        log_level="warning",
        # Live updates are small messages to many sockets: compressing each one cost a fifth of
        # an API process's time in bench/subscriptions.py and saves a few dozen bytes.
        ws_per_message_deflate=False,
        ws_max_size=settings.max_body_bytes,  # a WebSocket message is capped like a body
    )
    return 0


def _display_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.resolved_database_url).render_as_string(hide_password=True)


def _print_banner(settings: Settings, host: str, port: int, seed_id: str | None) -> None:
    from service.documents import document

    site = f"http://{host}:{port}"
    url = f"{site}/graphql"
    lines = [
        f"BZPEER serving {_display_url(settings)}",
        f"Web: {site}/ (the pages people use: profiles, search, sign in)",
    ]
    if seed_id:
        lines.append(f"The seed profile: {site}/researchers/{quote(seed_id, safe='')}")
    lines += [
        f"GraphQL endpoint: {url}",
        f"Subscriptions: ws://{host}:{port}/graphql (graphql-transport-ws)",
    ]
    if settings.debug:
        lines.append(f"GraphiQL: {url} (open it in a browser)")
    if seed_id:
        lines += [
            "",
            "The seed researcher's profile page, in one query (paste into GraphiQL):",
            document("profile_page.graphql").strip(),
            f"Variables: {orjson.dumps({'id': seed_id}).decode()}",
            "",
            "Or from a shell:",
            f"curl -s {url} -H 'content-type: application/json' -d "
            f'\'{{"query": "{{ researcher(id: \\"{seed_id}\\") '
            "{ displayName trust { score band verificationLevel } "
            "counts { works followers topics closeCollaborators } } }\"}'",
        ]
    print("\n".join(lines), flush=True)


async def _create_api_key(settings: Settings, name: str, scope: str) -> str:
    from service.accounts.service import accounts
    from service.db.unit_of_work import command_session

    async with command_session(settings, writes=True) as session:
        return await accounts.create_api_key(session, name=name, scope=scope)


async def _revoke_api_keys(settings: Settings, name: str) -> int:
    from service.accounts.service import accounts
    from service.db.unit_of_work import command_session

    async with command_session(settings, writes=True) as session:
        return await accounts.revoke_api_keys(session, name)


def cmd_api_key_revoke(args: argparse.Namespace) -> int:
    revoked = asyncio.run(_revoke_api_keys(get_settings(), args.name))
    if not revoked:
        print(f"No active API key named {args.name!r}.", file=sys.stderr)
        return 1
    print(f"Revoked {revoked} API key(s) named {args.name!r}.", file=sys.stderr)
    return 0


def cmd_api_key_create(args: argparse.Namespace) -> int:
    key = asyncio.run(_create_api_key(get_settings(), args.name, args.scope))
    print(key)
    print(
        f"API key {args.name!r} (scope {args.scope}) created. It is shown only now; send it "
        "as `Authorization: Bearer <key>`.",
        file=sys.stderr,
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from workers.process import run_worker

    run_worker(_configured_settings("worker"), threads=args.threads)
    return 0


def cmd_relay(_args: argparse.Namespace) -> int:
    from workers.process import run_relay

    run_relay(_configured_settings("relay"))
    return 0


def _configured_settings(command: str) -> Settings:
    from service.logging import configure_logging

    settings = get_settings()
    if not settings.redis_url:
        raise SystemExit(
            f"bzpeer {command} needs REDIS_URL (the broker it shares with the other processes); "
            "without it, `bzpeer serve` runs relay and worker in its own process."
        )
    configure_logging(settings.log_level)
    return settings


async def _failed_events(settings: Settings, limit: int) -> list[dict[str, object]]:
    from service.db.unit_of_work import command_session
    from service.events.service import events

    async with command_session(settings, writes=False) as session:
        failed = await events.failed(session, limit)
    return [
        {
            "id": event.id,
            "type": event.event_type,
            "payload": event.payload,
            "created_at": event.created_at.isoformat(),
            "failed_at": event.failed_at.isoformat() if event.failed_at else None,
            "error": (event.last_error or "").strip().splitlines()[-1:],
        }
        for event in failed
    ]


def cmd_events_failed(args: argparse.Namespace) -> int:
    failed = asyncio.run(_failed_events(get_settings(), args.limit))
    for row in failed:
        sys.stdout.write(orjson.dumps(row).decode() + "\n")
    print(f"{len(failed)} dead-lettered event(s)", file=sys.stderr)
    return 0


async def _replay(settings: Settings, event_ids: list[int]) -> list[int]:
    from service.db.unit_of_work import command_session
    from service.events.service import events

    missing = []
    async with command_session(settings, writes=True) as session:
        for event_id in event_ids:
            if not await events.replay(session, event_id):
                missing.append(event_id)
        if missing:
            await session.rollback()
    return missing


def cmd_events_replay(args: argparse.Namespace) -> int:
    missing = asyncio.run(_replay(get_settings(), args.ids))
    if missing:
        print(f"not dead-lettered (nothing replayed): {missing}", file=sys.stderr)
        return 1
    print(f"replaying {len(args.ids)} event(s): the relay sends them again")
    return 0


IMPORT_SKIPPED_STATUS = 3
"""``bzpeer import`` exit status when it left anything out (the report says what)."""


def cmd_import_openalex(args: argparse.Namespace) -> int:
    from service.imports.openalex.importer import BULK_THRESHOLD, run_import
    from service.imports.openalex.inputs import discover
    from service.imports.openalex.progress import ImportSink
    from service.logging import configure_logging

    settings = get_settings()
    configure_logging("WARNING")
    from service.db.migrate import pending, upgrade

    if settings.database_url is None:  # the embedded default: make sure its file is migrated
        upgrade(settings.resolved_database_url)
    elif pending(settings.database_url):
        print(
            f"bzpeer import: {_display_url(settings)} is not migrated to this version: "
            "run `bzpeer migrate` first",
            file=sys.stderr,
        )
        return 2
    try:
        expected = discover(args.paths).expected_total
    except FileNotFoundError as exc:
        print(f"bzpeer import: {exc}", file=sys.stderr)
        return 2
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    report = args.report or settings.data_dir / "imports" / f"openalex-{stamp}.tsv"
    report.parent.mkdir(parents=True, exist_ok=True)
    if args.enqueue and not settings.redis_url:
        print("bzpeer import: --enqueue needs REDIS_URL (the workers' broker)", file=sys.stderr)
        return 2
    bulk_threshold = args.bulk_threshold if args.bulk_threshold is not None else BULK_THRESHOLD
    sink = ImportSink(report, total=expected)
    try:
        if args.enqueue:
            result = _import_through_workers(settings, args, sink, bulk_threshold)
        else:
            result = run_import(
                settings,
                args.paths,
                sink,
                jobs=max(1, args.jobs),
                bulk_threshold=bulk_threshold,
                batch_lines=max(1, args.batch_size),
            )
    finally:
        sink.close()
    totals = result.totals
    for file in result.files:
        if file.broken:
            print(f"{file.path}: stopped at {file.broken}", file=sys.stderr)
    print(
        f"read {totals.read:,}, inserted {totals.inserted:,}, updated {totals.updated:,}, "
        f"unchanged {totals.unchanged:,}, skipped {totals.skipped:,} in {result.seconds:.1f} s"
        f" ({len(result.files)} files"
        + (", everything derived recomputed" if result.derived else "")
        + f"); report: {report} ({sink.lines} lines)"
    )
    return IMPORT_SKIPPED_STATUS if result.skipped_anything or sink.skipped else 0


def _import_through_workers(
    settings: Settings,
    args: argparse.Namespace,
    sink: ImportSink,
    bulk_threshold: int,
) -> RunResult:
    """One job per file on the broker's imports queue, for the ``bzpeer worker`` processes."""
    from dramatiq import Message

    from service.imports.openalex.distributed import IMPORT_FILE_JOB, IMPORTS_QUEUE, run_enqueued
    from workers.broker import create_broker

    broker = create_broker(settings)
    broker.declare_queue(IMPORTS_QUEUE)

    def send(job: dict[str, Any]) -> None:
        broker.enqueue(
            Message(
                queue_name=IMPORTS_QUEUE,
                actor_name=IMPORT_FILE_JOB,
                args=(),
                kwargs=job,
                options={},
            )
        )

    try:
        return run_enqueued(
            settings,
            args.paths,
            sink,
            send,
            bulk_threshold=bulk_threshold,
            batch_lines=max(1, args.batch_size),
        )
    finally:
        broker.close()


def cmd_recompute(_args: argparse.Namespace) -> int:
    from service.recompute import recompute_everything

    settings = get_settings()
    asyncio.run(recompute_everything(settings))
    _invalidate_everything(settings)
    print("recomputed co-author edges, clusters, counters and trust from the source tables")
    return 0


async def _recluster(settings: Settings, if_older_than: float | None, from_scratch: bool) -> str:
    from service.db.unit_of_work import command_session
    from service.graph.service import Reclustered, coauthor_graph

    async with command_session(settings, writes=True, maintenance=True) as session:
        done: Reclustered | None
        if if_older_than is None:
            done = await coauthor_graph.recluster(
                session, seed=settings.cluster_seed, from_scratch=from_scratch
            )
        else:
            done = await coauthor_graph.recluster_if_due(
                session,
                seed=settings.cluster_seed,
                older_than=dt.timedelta(seconds=if_older_than),
            )
    if done is None:
        return "not due (or running elsewhere): nothing done"
    return (
        f"{done.clusters} clusters, modularity {done.modularity:.4f}, "
        f"{len(done.moved)} researchers changed cluster"
    )


def cmd_recluster(args: argparse.Namespace) -> int:
    print(asyncio.run(_recluster(get_settings(), args.if_older_than, args.from_scratch)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bzpeer", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the API (embedded default when unconfigured)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    serve.add_argument(
        "--api-only", action="store_true", help="leave the event workers to separate processes"
    )
    serve.set_defaults(func=cmd_serve)

    worker = commands.add_parser("worker", help="run the event actors (needs REDIS_URL)")
    worker.add_argument("--threads", type=int, help="worker threads (BZPEER_WORKER_THREADS)")
    worker.set_defaults(func=cmd_worker)
    commands.add_parser(
        "relay", help="send outbox events to the broker (needs REDIS_URL)"
    ).set_defaults(func=cmd_relay)

    events = commands.add_parser("events", help="event delivery")
    events_commands = events.add_subparsers(dest="events_command", required=True)
    failed = events_commands.add_parser("failed", help="list dead-lettered events as JSON lines")
    failed.add_argument("--limit", type=int, default=100)
    failed.set_defaults(func=cmd_events_failed)
    replay = events_commands.add_parser("replay", help="send dead-lettered events again")
    replay.add_argument("ids", type=int, nargs="+", metavar="ID")
    replay.set_defaults(func=cmd_events_replay)

    recompute = commands.add_parser(
        "recompute", help="recompute every derived number from the source tables"
    )
    recompute.add_argument(
        "--all", action="store_true", required=True, help="everything (the only scope so far)"
    )
    recompute.set_defaults(func=cmd_recompute)

    recluster = commands.add_parser(
        "recluster", help="full Leiden over the co-author graph; cluster ids kept by overlap"
    )
    recluster.add_argument(
        "--if-older-than",
        type=float,
        metavar="SECONDS",
        help="only if the last full recluster finished longer ago (the worker's schedule)",
    )
    recluster.add_argument(
        "--from-scratch",
        action="store_true",
        help="ignore the stored clusters as a starting point (ids are still kept by overlap)",
    )
    recluster.set_defaults(func=cmd_recluster)

    commands.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)

    imports = commands.add_parser("import", help="import public records")
    import_commands = imports.add_subparsers(dest="import_command", required=True)
    openalex = import_commands.add_parser(
        "openalex",
        help="OpenAlex JSON Lines files (gzip or plain) or snapshot folders",
        description=(
            "Import OpenAlex works, authors, institutions, sources, topics and merged-ids "
            "lists. Idempotent (a record no newer than the stored one changes nothing) and "
            "resumable (a stopped run goes on after its last committed batch). Exit status: 0, "
            f"or {IMPORT_SKIPPED_STATUS} when anything was left out (see the report)."
        ),
    )
    openalex.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    openalex.add_argument(
        "--jobs", type=int, default=1, help="processes importing files of one kind at once"
    )
    openalex.add_argument(
        "--report",
        type=Path,
        help="where to write the report of items left out or repaired "
        "(default: $BZPEER_DATA_DIR/imports/openalex-<time>.tsv)",
    )
    openalex.add_argument(
        "--bulk-threshold",
        type=int,
        help="new works after which the import stops emitting an event per work and "
        "recomputes everything derived at its end (default 5000)",
    )
    openalex.add_argument(
        "--enqueue",
        action="store_true",
        help="send one job per file to the workers (`bzpeer worker`, on any machine that sees "
        "the files at the same paths; needs REDIS_URL) and wait for them",
    )
    openalex.add_argument(
        "--batch-size",
        type=int,
        default=1000,
        help="records per transaction (default 1000); a stopped run resumes after the last one",
    )
    openalex.set_defaults(func=cmd_import_openalex)

    demo = commands.add_parser("demo", help="demo data")
    demo_commands = demo.add_subparsers(dest="demo_command", required=True)
    demo_commands.add_parser("load", help="load the demo graph").set_defaults(func=cmd_demo_load)

    api_key = commands.add_parser("api-key", help="integrator API keys")
    api_key_commands = api_key.add_subparsers(dest="api_key_command", required=True)
    create = api_key_commands.add_parser("create", help="create a key and print it once")
    create.add_argument("--name", required=True)
    create.add_argument("--scope", default="import", choices=["import"])
    create.set_defaults(func=cmd_api_key_create)
    revoke = api_key_commands.add_parser(
        "revoke", help="revoke every active key of that name (at once, on every process)"
    )
    revoke.add_argument("--name", required=True)
    revoke.set_defaults(func=cmd_api_key_revoke)

    export = commands.add_parser("export-schema", help="write the GraphQL SDL")
    export.add_argument("--output", "-o", default=str(SCHEMA_PATH))
    export.set_defaults(func=cmd_export_schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
