"""One setting moves the checkpoints to PostgreSQL: `$SAFE_AGENT_DATABASE_URL=postgresql://…`.

Unset (or empty), the checkpoints stay in the SQLite file of the data folder. Set, `SafeAgent`,
the CLI and the Studio checkpointer use langgraph's `PostgresSaver` on a psycopg 3 connection
pool, encrypted under the data folder's key ring exactly like the SQLite file
(`safe_agent.checkpoints`). The safety stores stay in SQLite for now (docs/deploy.md).

Why a module of its own: the URL carries a password. It is parsed and checked here, once, and
every message that mentions it shows `postgresql://user:***@host/db`; a malformed URL or a server
that cannot be reached is a one-line `ConfigError` naming the setting, never a traceback.

The schema (`PostgresSaver.setup()`) is applied when a process first opens the database, under a
Postgres advisory lock so that workers starting together do not race on `CREATE TABLE`.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safe_agent.errors import ConfigError

if TYPE_CHECKING:  # psycopg is imported only when a URL is set: SQLite homes never load it
    from langgraph.checkpoint.postgres import PostgresSaver
    from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
    from psycopg import Connection

__all__ = ["DATABASE_URL_ENV", "DatabaseUrl", "open_postgres_checkpointer", "resolve_url"]

DATABASE_URL_ENV = "SAFE_AGENT_DATABASE_URL"
SCHEMES = ("postgresql", "postgres")
CONNECT_TIMEOUT_S = 5
POOL_MAX_SIZE = 4
"""PostgresSaver serialises its own calls with a lock; a few connections cover readers beside it."""
_SETUP_LOCK = 0x5AFE_A6E7  # the advisory lock key that serialises `setup()` across processes
_ENCRYPTED = (
    "SELECT EXISTS(SELECT 1 FROM checkpoint_blobs WHERE type LIKE '%+%') OR "
    "EXISTS(SELECT 1 FROM checkpoint_writes WHERE type LIKE '%+%')"
)
_PASSWORD_IN_NETLOC = re.compile(r"(://[^:/@?#]*:)[^@/?#]*@")
_PASSWORD_IN_QUERY = re.compile(r"(password=)[^&\s]*", re.IGNORECASE)


def redact(text: str, password: str | None = None) -> str:
    """Replace every password in `text` (in a URL's user part, a `password=` parameter, or the
    literal `password`) with `***`."""
    text = _PASSWORD_IN_QUERY.sub(r"\1***", _PASSWORD_IN_NETLOC.sub(r"\1***@", text))
    if password:
        text = text.replace(password, "***")
    return text


@dataclass(frozen=True)
class DatabaseUrl:
    """A checked PostgreSQL URL and the setting it came from; its repr never shows the password."""

    value: str
    """The URL as given, password included: hand it to psycopg, never to a message."""
    setting: str
    """Where it came from: `$SAFE_AGENT_DATABASE_URL` or the `database_url` argument."""
    password: str | None = None

    @property
    def redacted(self) -> str:
        """The URL with its password replaced by `***`: what every message shows."""
        return redact(self.value, self.password)

    def __repr__(self) -> str:
        return f"DatabaseUrl({self.redacted!r}, setting={self.setting!r})"

    def error(self, what: str, detail: str) -> ConfigError:
        """A one-line error naming the setting, with the password redacted from `detail`."""
        first = next((line.strip() for line in detail.splitlines() if line.strip()), "")
        shown = redact(first, self.password)
        return ConfigError(f"{self.setting}: {what} {self.redacted}: {shown}")


def resolve_url(database_url: str | None = None) -> DatabaseUrl | None:
    """Return the checked URL of the argument, else `$SAFE_AGENT_DATABASE_URL`; None: SQLite.

    Raises ConfigError (one line, password redacted) for a URL that is not a usable
    `postgresql://` URL.
    """
    if database_url is not None:
        raw, setting = database_url, "database_url"
    else:
        raw, setting = os.environ.get(DATABASE_URL_ENV, ""), f"${DATABASE_URL_ENV}"
    raw = raw.strip()
    if not raw:
        return None
    scheme = raw.split("://", 1)[0].lower() if "://" in raw else ""
    if scheme not in SCHEMES:
        shown = redact(raw)[:60]
        raise ConfigError(f"{setting} must be a postgresql:// URL, not {shown!r}")
    from psycopg import conninfo  # noqa: PLC0415 - only when a URL is set

    try:
        parts = conninfo.conninfo_to_dict(raw)
    except Exception as exc:  # noqa: BLE001 - libpq's parse error, shown in one redacted line
        raise DatabaseUrl(raw, setting).error("malformed URL", str(exc)) from None
    url = DatabaseUrl(raw, setting, parts.get("password") or None)
    port = str(parts.get("port") or "")
    if port and not all(p.isdigit() and 0 < int(p) < 65536 for p in port.split(",")):
        raise url.error("malformed URL", f"port {port[:12]!r} is not a number from 1 to 65535")
    return url


def _connect(url: DatabaseUrl) -> Connection[Any]:
    """One connection the way PostgresSaver wants it (autocommit, dict rows, no prepared
    statements: safe behind PgBouncer); an unreachable server is a one-line ConfigError."""
    import psycopg  # noqa: PLC0415
    from psycopg.rows import dict_row  # noqa: PLC0415

    try:
        return psycopg.connect(
            url.value,
            autocommit=True,
            prepare_threshold=0,
            row_factory=dict_row,
            connect_timeout=CONNECT_TIMEOUT_S,
        )
    except psycopg.Error as exc:
        raise url.error("cannot connect to", str(exc)) from None


def _prepare(url: DatabaseUrl, home: Path) -> EncryptedSerializer:
    """Apply the schema once (advisory lock), then build the encrypting serializer; a key file
    missing for a database that already holds encrypted blobs is refused, never replaced."""
    import psycopg  # noqa: PLC0415
    from langgraph.checkpoint.postgres import PostgresSaver  # noqa: PLC0415

    from safe_agent.checkpoints import checkpoint_serde  # noqa: PLC0415 - it imports this module

    with _connect(url) as conn:
        try:
            conn.execute("SELECT pg_advisory_lock(%s)", (_SETUP_LOCK,))
            try:
                PostgresSaver(conn).setup()  # type: ignore[arg-type]
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK,))
        except psycopg.Error as exc:
            raise url.error("cannot set up the checkpoint tables in", str(exc)) from None

        def locked() -> list[str]:
            row = conn.execute(_ENCRYPTED).fetchone()
            return (
                [f"the PostgreSQL checkpoints at {url.redacted}"]
                if row and any(row.values())
                else []
            )

        return checkpoint_serde(home, locked=locked)


def _pool_kwargs() -> dict[str, Any]:
    from psycopg.rows import dict_row  # noqa: PLC0415

    return {
        "autocommit": True,
        "prepare_threshold": 0,
        "row_factory": dict_row,
        "connect_timeout": CONNECT_TIMEOUT_S,
    }


def open_postgres_checkpointer(url: DatabaseUrl, home: str | Path) -> PostgresSaver:
    """Open an encrypting PostgresSaver on a connection pool for `url`, keys from `home`."""
    from langgraph.checkpoint.postgres import PostgresSaver  # noqa: PLC0415
    from psycopg_pool import ConnectionPool  # noqa: PLC0415

    serde = _prepare(url, Path(home))
    pool = ConnectionPool(
        url.value,
        min_size=1,
        max_size=POOL_MAX_SIZE,
        kwargs=_pool_kwargs(),
        open=False,
        name="safe-agent-checkpoints",
    )
    try:
        pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - PoolTimeout and friends: one line
        pool.close()
        raise url.error("cannot open a connection pool to", str(exc)) from None
    return PostgresSaver(pool, serde=serde)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def open_async_postgres_checkpointer(url: DatabaseUrl, home: str | Path) -> Any:
    """Yield an encrypting AsyncPostgresSaver on an async pool (the Studio server's), closed on
    exit. The schema and the key ring are prepared in a worker thread, off the server's loop."""
    import asyncio  # noqa: PLC0415

    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver  # noqa: PLC0415
    from psycopg_pool import AsyncConnectionPool  # noqa: PLC0415

    serde = await asyncio.to_thread(_prepare, url, Path(home))
    pool = AsyncConnectionPool(
        url.value,
        min_size=1,
        max_size=POOL_MAX_SIZE,
        kwargs=_pool_kwargs(),
        open=False,
        name="safe-agent-studio",
    )
    try:
        await pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001
        await pool.close()
        raise url.error("cannot open a connection pool to", str(exc)) from None
    try:
        yield AsyncPostgresSaver(pool, serde=serde)  # type: ignore[arg-type]
    finally:
        await pool.close()


@contextlib.contextmanager
def _connection(saver: Any) -> Iterator[Any]:
    """A connection of a PostgresSaver: one borrowed from its pool, or its own connection under
    the saver's lock (one connection serves one statement at a time)."""
    from psycopg_pool import ConnectionPool  # noqa: PLC0415

    if isinstance(saver.conn, ConnectionPool):
        with saver.conn.connection() as borrowed:
            yield borrowed
    else:
        with saver.lock:
            yield saver.conn


def fetch(saver: Any, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one read on a PostgresSaver's database; rows as tuples, whatever its row factory."""
    with _connection(saver) as conn, conn.cursor() as cur:
        cur.execute(sql, params or None)
        rows = cur.fetchall()
    return [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in rows]


def is_postgres(saver: object) -> bool:
    """Whether `saver` is one of langgraph's Postgres savers (without importing psycopg)."""
    return type(saver).__module__.startswith("langgraph.checkpoint.postgres")
