"""A throwaway PostgreSQL server for the tests: initdb on a temp folder, 127.0.0.1 only, then gone.

Why a real server: the Postgres checkpointer and the portable queries must be tested against the
database they will meet in production, not a mock. The server is fast to make (no fsync, trust
auth, a tiny cluster) and listens only on 127.0.0.1 and on a unix socket inside the temp folder,
on a free port, so it never collides with a server the machine already runs.

initdb refuses to run as root; under root (CI containers) every server command runs as the
`postgres` system user and the temp folder is handed to it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

PG_BIN_ENV = "SAFE_AGENT_PG_BIN"
DEFAULT_BIN = Path("/usr/lib/postgresql/15/bin")
SERVER_USER = "postgres"
DATABASE = "safe_agent_test"
_START_TIMEOUT_S = 20


class PgServerError(RuntimeError):
    """The throwaway server could not be made or started; the message is one line."""


def _bin_dir() -> Path:
    """Where initdb, pg_ctl and pg_isready are: $SAFE_AGENT_PG_BIN, Debian's folder, else PATH."""
    named = os.environ.get(PG_BIN_ENV)
    candidates = [Path(named)] if named else [DEFAULT_BIN]
    found = shutil.which("initdb")
    if found and not named:
        candidates.append(Path(found).parent)
    for folder in candidates:
        if all((folder / tool).is_file() for tool in ("initdb", "pg_ctl", "pg_isready")):
            return folder
    where = named or f"{DEFAULT_BIN} or PATH"
    raise PgServerError(
        f"PostgreSQL server binaries (initdb, pg_ctl) not found in {where}: "
        "install Debian's postgresql-15 or set $SAFE_AGENT_PG_BIN"
    )


def _free_port() -> int:
    """A port nobody listens on right now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PgServer:
    """A running throwaway server: its URL, and how to stop it."""

    folder: Path
    port: int
    bin_dir: Path
    as_user: str | None
    database: str = DATABASE

    @property
    def data_dir(self) -> Path:
        """The cluster's data folder."""
        return self.folder / "data"

    @property
    def socket_dir(self) -> Path:
        """Where the unix socket is: inside the temp folder, never /var/run/postgresql."""
        return self.folder / "sock"

    def url_for(self, database: str) -> str:
        """The URL of one database on this server (trust auth: no password)."""
        return f"postgresql://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    @property
    def url(self) -> str:
        """The URL of the database made at start."""
        return self.url_for(self.database)

    def run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run one server tool (as the server user under root), output captured, never printed."""
        command = [str(self.bin_dir / tool), *args]
        if self.as_user:
            command = ["runuser", "-u", self.as_user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=_START_TIMEOUT_S)
        if check and done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
            raise PgServerError(f"{tool} failed ({done.returncode}): {lines[-1]}")
        return done

    def stop(self) -> None:
        """Stop the server at once (nothing in it needs a clean shutdown) and delete its folder."""
        if self.data_dir.is_dir():
            self.run(
                "pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop", check=False
            )
        shutil.rmtree(self.folder, ignore_errors=True)


def _start_once(server: PgServer) -> None:
    options = (
        f"-c listen_addresses=127.0.0.1 -p {server.port} -k {server.socket_dir} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        "-c max_connections=100 -c shared_buffers=16MB"
    )
    log = server.folder / "server.log"
    server.run(
        "pg_ctl",
        "-D",
        str(server.data_dir),
        "-l",
        str(log),
        "-o",
        options,
        "-w",
        "-t",
        str(_START_TIMEOUT_S),
        "start",
    )


def _wait_ready(server: PgServer) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while True:
        ready = server.run(
            "pg_isready", "-h", "127.0.0.1", "-p", str(server.port), "-q", check=False
        )
        if ready.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise PgServerError(
                f"the server on port {server.port} is not ready after {_START_TIMEOUT_S}s"
            )
        time.sleep(0.05)


def start(tmp_dir: str | Path) -> PgServer:
    """Make a cluster in `tmp_dir` (an empty folder), start it and create the test database.

    Under root, `tmp_dir` is chowned to the `postgres` user, so it must sit where that user can
    reach it (a fresh `tempfile.mkdtemp()` under /tmp does).
    """
    bin_dir = _bin_dir()
    folder = Path(tmp_dir)
    folder.mkdir(parents=True, exist_ok=True)
    as_user = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam(SERVER_USER)
        except KeyError:
            raise PgServerError(
                f"running as root and there is no {SERVER_USER!r} user to run the server as"
            ) from None
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        os.chmod(folder, 0o700)
        as_user = SERVER_USER
    server = PgServer(folder=folder, port=0, bin_dir=bin_dir, as_user=as_user)
    try:
        _init_and_start(server)
    except BaseException:
        server.stop()  # no half-made cluster or stray server is left behind
        raise
    return server


def _init_and_start(server: PgServer) -> None:
    server.run(
        "initdb",
        "-D",
        str(server.data_dir),
        "-A",
        "trust",
        "-U",
        SERVER_USER,
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
        "--no-instructions",
    )
    _make_socket_dir(server)
    for attempt in range(3):  # the free port may be taken between probing and binding
        server.port = _free_port()
        try:
            _start_once(server)
            break
        except PgServerError:
            if attempt == 2:
                raise
    _wait_ready(server)
    server.run(
        "createdb", "-h", "127.0.0.1", "-p", str(server.port), "-U", SERVER_USER, server.database
    )


def _make_socket_dir(server: PgServer) -> None:
    server.socket_dir.mkdir(mode=0o700)
    if server.as_user:
        owner = pwd.getpwnam(server.as_user)
        os.chown(server.socket_dir, owner.pw_uid, owner.pw_gid)
