"""One way to open a SQLite file for the safety stores: WAL, a busy timeout, autocommit off.

Every store opens short-lived connections through `open_db` so that several threads and
processes can share a file without "database is locked": WAL lets readers run beside one
writer, and the busy timeout makes writers queue instead of failing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

BUSY_TIMEOUT_MS = 30_000


def open_db(path: str | Path) -> sqlite_utils.Database:
    """Open (creating parent folders) a SQLite file with WAL and a busy timeout."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    if str(path) != ":memory:":
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return sqlite_utils.Database(conn)


@contextmanager
def immediate(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Run a read-decide-write step atomically: BEGIN IMMEDIATE takes the write lock first."""
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.conn.execute("ROLLBACK")
        raise
    else:
        db.conn.execute("COMMIT")


@contextmanager
def session(path: str | Path) -> Iterator[sqlite_utils.Database]:
    """Open a connection for one unit of work and always close it."""
    db = open_db(path)
    try:
        yield db
    finally:
        db.conn.close()
