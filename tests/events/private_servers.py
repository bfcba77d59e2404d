"""PostgreSQL and Redis servers of a test's own, which the test may kill and restart at will.

Nothing here touches the machine's shared servers: every server listens on 127.0.0.1 on a spare
port, and keeps its files in a folder of its own, removed by `close()`. The fixtures at the bottom
close what they open; an `atexit` hook closes anything still open when the interpreter exits.

Ports. A spare port is picked outside the kernel's ephemeral range, so no other process's
outgoing connection or port-0 bind can be handed it between our pick and our server's bind
(the race of "bind port 0, close, let the child bind it"). Should another process still take it
(one that binds fixed numbers, such as another copy of this harness), the first start picks a
fresh port and tries again; a restart cannot (the processes under test hold URLs with the port),
so it fails, saying who holds the port. A server counts as started only once its own process
holds the listening socket: a stranger answering on the port is never mistaken for it.

When `initdb` or `redis-server` is missing, the fixtures skip, except under `CI=true`, where a
skipped fault test would hide that it never ran: there they fail.

PostgreSQL refuses to run as root, so when the tests run as root `initdb`, `postgres` and
`pg_ctl` run as the `postgres` OS user (via `subprocess.Popen(user=...)`, so the postmaster is
still our own child), and the folder is handed to that user.
"""

from __future__ import annotations

import atexit
import contextlib
import grp
import os
import pwd
import random
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, ClassVar, NoReturn

import pytest
import redis

POSTGRES_START_TIMEOUT = 30.0
REDIS_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 30.0
_POLL = 0.05


# -- helpers -------------------------------------------------------------------------------------


PORT_ATTEMPTS = 5
"""Ports a first start tries before giving up (each taken one is logged in the error)."""
_SPARE_PORTS_FROM = 15000
_random = random.SystemRandom()  # not the global generator: a test that seeds it would make
# every copy of this harness on the machine pick the same ports


class PortTaken(RuntimeError):
    """The server could not bind its port: another process holds it."""


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def _nothing_holds(port: int) -> bool:
    """Whether no socket at all (listening, connected or in TIME_WAIT) holds the port: a bind
    without SO_REUSEADDR succeeds."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def spare_port() -> int:
    """A TCP port on 127.0.0.1 that nothing holds, outside the kernel's ephemeral range: the
    kernel never hands it to another process's outgoing connection or port-0 bind, so it stays
    free until our server binds it (unless something binds that very number on purpose)."""
    low, high = _ephemeral_range()
    candidates = [
        *range(_SPARE_PORTS_FROM, max(_SPARE_PORTS_FROM, low)),
        *range(high + 1, 65536),
    ]
    for _ in range(100 if candidates else 0):
        port: int = _random.choice(candidates)
        if _nothing_holds(port):
            return port
    # No room outside the ephemeral range: the kernel's pick (the start retries if it is taken).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening_inodes(port: int) -> set[str]:
    """Inodes of the TCP sockets listening on ``port`` (on 127.0.0.1 or every address)."""
    wanted = {f"0100007F:{port:04X}", f"00000000:{port:04X}"}
    inodes = set()
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[1] in wanted and fields[3] == "0A":  # 0A: LISTEN
                inodes.add(fields[9])
    return inodes


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[len("socket:[") : -1])
    return inodes


def listens_on(pid: int, port: int) -> bool:
    """Whether process ``pid`` itself holds a socket listening on ``port``."""
    listening = _listening_inodes(port)
    return bool(listening and listening & _socket_inodes(pid))


def port_holders(port: int) -> str:
    """Who holds ``port`` (pids and command lines), for error messages."""
    listening = _listening_inodes(port)
    holders = []
    if listening:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and listening & _socket_inodes(int(entry.name)):
                with contextlib.suppress(OSError):
                    command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                    holders.append(f"pid {entry.name} ({command.strip()[:120]})")
    return ", ".join(holders) or "no listener found (a connection or TIME_WAIT, or gone since)"


def unavailable(reason: str) -> NoReturn:
    """Skip for lack of a server binary; under CI=true fail instead: a fault test that silently
    never runs in CI is worse than a red build."""
    if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
        pytest.fail(f"{reason} (CI is set: the fault tests must run, not skip)", pytrace=False)
    pytest.skip(reason)


def _port_is_free(port: int) -> bool:
    # SO_REUSEADDR as both servers set it: connections in TIME_WAIT do not block a restart.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _wait_for_port_to_free(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not _port_is_free(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"port {port} still in use {timeout:.0f} s after the server died")
        time.sleep(_POLL)


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:]) or f"({path} is empty)"


def process_is_alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie (zombies hold no sockets nor memory)."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # "pid (comm) state ppid ..." -- comm may hold spaces and parentheses, so split at the last ")".
    return status.rpartition(")")[2].split()[0] != "Z"


def _children_of(pid: int) -> list[int]:
    children: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(entry.name))
    return children


def _wait_until_dead(pids: Sequence[int], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while alive := [pid for pid in pids if process_is_alive(pid)]:
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes {alive} still alive {timeout:.0f} s after SIGKILL")
        time.sleep(_POLL)


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _postgres_bindir() -> Path:
    """Where initdb, postgres and pg_ctl live: $BZPEER_PG_BINDIR, else the newest
    /usr/lib/postgresql/<version>/bin, else wherever PATH finds initdb."""
    if configured := os.environ.get("BZPEER_PG_BINDIR"):
        if not (Path(configured) / "initdb").exists():
            raise FileNotFoundError(f"BZPEER_PG_BINDIR={configured} has no initdb")
        return Path(configured)
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1].parent
    if found := shutil.which("initdb"):
        return Path(found).parent
    raise FileNotFoundError("no PostgreSQL binaries (set BZPEER_PG_BINDIR to their folder)")


def _redis_server() -> str:
    if found := shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    ):
        return found
    raise FileNotFoundError("no redis-server on PATH")


def _clean_environment() -> dict[str, str]:
    """Our environment without PG* variables (PGDATA, PGPORT, PGHOST... would redirect pg_ctl
    and psql elsewhere, possibly to the shared server)."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}


def _raise_start_failure(kind: str, port: int, code: int, log: Path, since: int) -> NoReturn:
    with log.open("rb") as file:
        file.seek(since)
        output = file.read().decode(errors="replace")
    if "already in use" in output.lower():
        raise PortTaken(f"{kind} could not bind port {port}: held by {port_holders(port)}")
    raise RuntimeError(
        f"{kind} on port {port} exited with {code} while starting:\n{output[-4000:]}"
    )


def _start_on_a_free_port(
    server: PrivatePostgres | PrivateRedis, start: Callable[[], None]
) -> None:
    """``start()`` on ``server.port``; on a first start, a fresh port for each one found taken."""
    taken = []
    for _ in range(1 if server.started_once else PORT_ATTEMPTS):
        try:
            start()
        except PortTaken as error:
            if server.started_once:
                raise PortTaken(
                    f"{error}; it was taken while the server was down, and the server cannot "
                    "move: the processes under test hold URLs with this port"
                ) from error
            taken.append(str(error))
            server.port = spare_port()
            continue
        server.started_once = True
        return
    raise PortTaken(f"no free port in {PORT_ATTEMPTS} attempts: " + "; ".join(taken))


# -- the safety net ------------------------------------------------------------------------------

_open_servers: dict[int, PrivatePostgres | PrivateRedis] = {}


def _close_open_servers() -> None:
    for server in list(_open_servers.values()):
        with contextlib.suppress(Exception):
            server.close()


atexit.register(_close_open_servers)


# -- PostgreSQL ----------------------------------------------------------------------------------


class PrivatePostgres:
    """A PostgreSQL server of the test's own: initdb in a temporary folder, on a spare port, so a
    test may kill and restart it.

    Laid out as `directory/data` (the cluster), `directory/postgres.log` (the server's output,
    appended to across restarts), `directory/initdb.log`, and the Unix socket in `directory`.
    Tuned for speed, not durability against an OS crash (`fsync` and `full_page_writes` are
    off); every acknowledged commit survives `kill()`, which is what the fault tests rely on.
    """

    SETTINGS: ClassVar[dict[str, str]] = {
        "fsync": "off",
        "full_page_writes": "off",
        "synchronous_commit": "on",
        "max_connections": "200",
    }

    def __init__(self, directory: Path, *, settings: Mapping[str, str] | None = None) -> None:
        """`settings` are extra or overriding server settings (`-c name=value`)."""
        self.directory = Path(directory).resolve()
        self.data = self.directory / "data"
        self.settings = {**self.SETTINGS, **(settings or {})}
        self.log = self.directory / "postgres.log"
        self.port = spare_port()
        self._bindir = _postgres_bindir()
        self._as_postgres = os.geteuid() == 0
        self._process: subprocess.Popen[bytes] | None = None
        self._closed = False
        self.started_once = False
        """Set by the first successful start: from then on the port may not change."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if self._as_postgres:
            self._hand_to_postgres_user()
        self.directory.chmod(0o700)
        _open_servers[id(self)] = self

    # -- lifecycle

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Initialise the cluster on first start, start the server, wait until it answers
        `SELECT 1` on a socket of its own (raising with the log's tail if it does not within
        30 s). The first start moves to a fresh port if its port is taken; a restart keeps the
        port, and raises `PortTaken` if another process took it meanwhile."""
        if self._closed:
            raise RuntimeError("this PrivatePostgres is closed")
        if self.running:
            raise RuntimeError(f"postgres on port {self.port} is already running")
        if not (self.data / "PG_VERSION").exists():
            self._initdb()
        self.data.chmod(0o700)
        _start_on_a_free_port(self, self._start_on_port)

    def _start_on_port(self) -> None:
        settings = {
            **self.settings,
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.directory),
        }
        command = [str(self._bindir / "postgres"), "-D", str(self.data)]
        for name, value in settings.items():
            command += ["-c", f"{name}={value}"]
        with self.log.open("ab") as log:
            since = log.tell()
            log.write(f"\n=== {time.strftime('%H:%M:%S')} starting: {command}\n".encode())
            log.flush()
            self._process = self._popen(command, stdout=log)
        self._wait_until_ready(since)

    def stop(self, mode: str = "fast") -> None:
        """`pg_ctl stop -m mode` and wait for the postmaster to exit. A no-op if not running."""
        if mode not in ("smart", "fast", "immediate"):
            raise ValueError(f"unknown shutdown mode {mode!r}")
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            pg_ctl = [str(self._bindir / "pg_ctl"), "stop", "-D", str(self.data), "-m", mode]
            pg_ctl += ["-w", "-t", str(int(_STOP_TIMEOUT))]
            with self.log.open("ab") as log:
                result = self._popen(pg_ctl, stdout=log).wait()
            if result != 0 and process.poll() is None:
                raise RuntimeError(f"pg_ctl stop -m {mode} failed:\n{_log_tail(self.log)}")
            process.wait(timeout=_STOP_TIMEOUT)
        self._process = None

    def kill(self) -> None:
        """Crash the server: SIGKILL the postmaster (its pid read from postmaster.pid) and every
        process it forked, as when the machine or container dies, then wait until they are all
        gone and the port is free. A no-op if not running.

        The next `start()` does crash recovery. Because the processes die but the OS does not,
        whatever reached the WAL files survives (fsync=off does not matter), and with
        synchronous_commit on every acknowledged commit has.
        """
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            pid = self._postmaster_pid() or process.pid
            _signal(pid, signal.SIGSTOP)  # no new children while we look for them
            children = _children_of(pid)
            _signal(pid, signal.SIGKILL)
            for child in children:
                _signal(child, signal.SIGKILL)
            if pid == process.pid:
                process.wait(timeout=10)
            _wait_until_dead([pid, *children])
            if pid != process.pid:
                process.wait(timeout=10)
        self._process = None
        _wait_for_port_to_free(self.port)

    def restart(self) -> None:
        """A clean restart: `stop("fast")` if running, then `start()`."""
        self.stop("fast")
        self.start()

    def close(self) -> None:
        """Stop (immediate) if running and remove the folder. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            if self.running:
                try:
                    self.stop("immediate")
                except Exception:
                    self.kill()
            elif self._process is not None:
                self._process.wait()
                self._process = None
        finally:
            _open_servers.pop(id(self), None)
            shutil.rmtree(self.directory, ignore_errors=True)

    # -- SQL

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """CREATE DATABASE `name` (owned by postgres) and return its url."""
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"database name {name!r} is not a plain identifier")
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run `sql` with psql (no event loop needed, so it is safe inside async tests) and
        return its unaligned, tuples-only output."""
        if not self.running:
            raise RuntimeError(f"postgres on port {self.port} is not running")
        result = self._psql(sql, database, timeout=_STOP_TIMEOUT)
        if result.returncode != 0:
            raise RuntimeError(f"psql failed on {sql!r}: {result.stderr.strip()}")
        return result.stdout

    # -- internals

    def _hand_to_postgres_user(self) -> None:
        account = pwd.getpwnam("postgres")
        os.chown(self.directory, account.pw_uid, account.pw_gid)
        for folder in self.directory.parents:
            mode = folder.stat()
            reachable = (
                mode.st_mode & stat.S_IXOTH
                or (mode.st_uid == account.pw_uid and mode.st_mode & stat.S_IXUSR)
                or (mode.st_gid == account.pw_gid and mode.st_mode & stat.S_IXGRP)
            )
            if not reachable:
                raise ValueError(
                    f"the postgres user cannot reach {self.directory}: {folder} is "
                    f"{stat.filemode(mode.st_mode)} {pwd.getpwuid(mode.st_uid).pw_name}; use a "
                    f"folder under {tempfile.gettempdir()} (e.g. tempfile.mkdtemp())"
                )

    def _popen(self, command: list[str], stdout: IO[bytes]) -> subprocess.Popen[bytes]:
        extra: dict[str, Any] = {}
        if self._as_postgres:
            account = pwd.getpwnam("postgres")
            groups = [group.gr_gid for group in grp.getgrall() if "postgres" in group.gr_mem]
            extra = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": groups}
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            cwd=self.directory,
            env=_clean_environment(),
            # Out of the terminal's process group: Ctrl-C reaches pytest, which then closes us.
            start_new_session=True,
            **extra,
        )

    def _initdb(self) -> None:
        command = [str(self._bindir / "initdb"), "-D", str(self.data), "-U", "postgres"]
        command += ["--auth=trust", "--no-sync", "--encoding=UTF8", "--locale=C"]
        initdb_log = self.directory / "initdb.log"
        with initdb_log.open("ab") as log:
            result = self._popen(command, stdout=log).wait()
        if result != 0:
            raise RuntimeError(f"initdb failed ({result}):\n{_log_tail(initdb_log)}")

    def _postmaster_pid(self) -> int | None:
        try:
            first_line = (self.data / "postmaster.pid").read_text().split("\n", 1)[0]
            return int(first_line)
        except (OSError, ValueError):
            return None

    def _psql(self, sql: str, database: str, timeout: float) -> subprocess.CompletedProcess[str]:
        command = [str(self._bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
        command += ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database]
        command += ["-c", sql]
        environment = {**_clean_environment(), "PGCONNECT_TIMEOUT": "2"}
        return subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=environment,
            timeout=timeout,
            check=False,
        )

    def _wait_until_ready(self, since: int) -> None:
        assert self._process is not None
        deadline = time.monotonic() + POSTGRES_START_TIMEOUT
        last_error = ""
        while True:
            code = self._process.poll()
            if code is not None:
                self._process = None
                _raise_start_failure("postgres", self.port, code, self.log, since)
            # Ask only once our postmaster holds the listening socket: anyone else's answer on
            # the port (or silence) is not our server's.
            if not listens_on(self._process.pid, self.port):
                last_error = f"not listening on {self.port} yet"
            else:
                try:
                    result = self._psql("SELECT 1", "postgres", timeout=5)
                except subprocess.TimeoutExpired:
                    last_error = "psql timed out"
                else:
                    if result.returncode == 0 and result.stdout.strip() == "1":
                        return
                    last_error = result.stderr.strip()
            if time.monotonic() > deadline:
                break
            time.sleep(_POLL)
        with contextlib.suppress(Exception):
            self.kill()
        raise RuntimeError(
            f"postgres on port {self.port} did not accept connections within "
            f"{POSTGRES_START_TIMEOUT:.0f} s (last error: {last_error}):\n{_log_tail(self.log)}"
        )


# -- Redis ---------------------------------------------------------------------------------------


class PrivateRedis:
    """A Redis server of the test's own on a spare port; nothing kept on disk (no RDB snapshots,
    no AOF), so a kill or restart always comes back empty. Its output goes to
    `directory/redis.log`."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory).resolve()
        self.log = self.directory / "redis.log"
        self.port = spare_port()
        self._binary = _redis_server()
        self._process: subprocess.Popen[bytes] | None = None
        self._closed = False
        self.started_once = False
        """Set by the first successful start: from then on the port may not change."""
        self.directory.mkdir(parents=True, exist_ok=True)
        _open_servers[id(self)] = self

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start redis-server in the foreground and wait until it answers PING (10 s at most)."""
        if self._closed:
            raise RuntimeError("this PrivateRedis is closed")
        if self.running:
            raise RuntimeError(f"redis on port {self.port} is already running")
        _start_on_a_free_port(self, self._start_on_port)

    def _start_on_port(self) -> None:
        command = [self._binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.directory)]
        command += ["--daemonize", "no", "--logfile", ""]
        with self.log.open("ab") as log:
            since = log.tell()
            log.write(f"\n=== {time.strftime('%H:%M:%S')} starting: {command}\n".encode())
            log.flush()
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
                start_new_session=True,
            )
        self._wait_until_ready(since)

    def kill(self) -> None:
        """SIGKILL the server and wait for it to exit (and its port to free). A no-op if not
        running."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        self._process = None
        _wait_for_port_to_free(self.port)

    def restart(self) -> None:
        """Kill if running, then start again on the same port (empty); `PortTaken` if another
        process took the port meanwhile."""
        self.kill()
        self.start()

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0) -> redis.Redis:
        """A synchronous client; the caller closes it."""
        return redis.Redis(host="127.0.0.1", port=self.port, db=db)

    def close(self) -> None:
        """Kill if running and remove the folder. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            self.kill()
        finally:
            _open_servers.pop(id(self), None)
            shutil.rmtree(self.directory, ignore_errors=True)

    def _wait_until_ready(self, since: int) -> None:
        assert self._process is not None
        deadline = time.monotonic() + REDIS_START_TIMEOUT
        last_error = ""
        while True:
            code = self._process.poll()
            if code is not None:
                self._process = None
                _raise_start_failure("redis", self.port, code, self.log, since)
            # Ask only once our server holds the listening socket: anyone else's answer on the
            # port (or silence) is not our server's.
            if not listens_on(self._process.pid, self.port):
                last_error = f"not listening on {self.port} yet"
            else:
                client = redis.Redis(
                    host="127.0.0.1", port=self.port, socket_connect_timeout=1, socket_timeout=1
                )
                try:
                    if client.ping():
                        return
                except redis.RedisError as error:
                    last_error = str(error)
                finally:
                    client.close()
            if time.monotonic() > deadline:
                break
            time.sleep(_POLL)
        with contextlib.suppress(Exception):
            self.kill()
        raise RuntimeError(
            f"redis on port {self.port} did not answer PING within {REDIS_START_TIMEOUT:.0f} s "
            f"(last error: {last_error}):\n{_log_tail(self.log)}"
        )


# -- fixtures ------------------------------------------------------------------------------------


def _postgres_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.geteuid() == 0:
        # pytest's folders are root's and 0700 all the way down: the postgres user could not
        # reach them. A folder of our own directly under the temp dir (/tmp is 1777) can.
        return Path(tempfile.mkdtemp(prefix="bzpeer-pg-"))
    return tmp_path_factory.mktemp("postgres")


@pytest.fixture(scope="session")
def private_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivatePostgres]:
    """One private PostgreSQL for the session, started. A test that kills or stops it starts it
    again before it ends; tests make their own databases with `create_database`."""
    try:
        _postgres_bindir()
    except FileNotFoundError as error:
        unavailable(str(error))
    server = PrivatePostgres(_postgres_folder(tmp_path_factory))
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    """A fresh, empty private Redis for every test, started."""
    try:
        _redis_server()
    except FileNotFoundError as error:
        unavailable(str(error))
    server = PrivateRedis(tmp_path_factory.mktemp("redis"))
    try:
        server.start()
        yield server
    finally:
        server.close()
