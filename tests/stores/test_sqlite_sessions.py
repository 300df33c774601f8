"""Connection reuse in `stores._sqlite`: one connection per thread and file, never shared, clean."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from safe_agent.stores import _sqlite
from safe_agent.stores._sqlite import close_all, immediate, session


@pytest.fixture
def path(tmp_path: Path) -> str:
    p = str(tmp_path / "sub" / "store.sqlite")
    with session(p) as db:
        db.execute("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v INTEGER)")
    return p


def _conn_in_thread(path: str) -> sqlite3.Connection:
    box: list[sqlite3.Connection] = []

    def run() -> None:
        with session(path) as db:
            box.append(db.conn)

    t = threading.Thread(target=run)
    t.start()
    t.join(timeout=30)
    return box[0]


def test_same_connection_within_a_thread(path: str) -> None:
    with session(path) as a:
        first = a.conn
    with session(Path(path)) as b:
        assert b.conn is first
    assert first.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert first.execute("PRAGMA busy_timeout").fetchone()[0] == _sqlite.BUSY_TIMEOUT_MS
    assert first.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_different_connection_per_thread(path: str) -> None:
    with session(path) as db:
        mine = db.conn
    others = [_conn_in_thread(path) for _ in range(2)]
    assert others[0] is not mine and others[1] is not mine


def test_different_files_get_different_connections(path: str, tmp_path: Path) -> None:
    with session(path) as a, session(tmp_path / "other.sqlite") as b:
        assert a.conn is not b.conn


def test_memory_databases_are_never_shared() -> None:
    with session(":memory:") as a:
        a.execute("CREATE TABLE t (x)")
        first = a.conn
    with session(":memory:") as b:
        assert b.conn is not first
        assert b.table_names() == []


def test_nested_session_gets_its_own_connection(path: str) -> None:
    with session(path) as outer, immediate(outer):
        outer.execute("INSERT INTO t VALUES ('a', 1)")
        with session(path) as inner:
            assert inner.conn is not outer.conn
            assert (
                inner.execute("SELECT count(*) FROM t").fetchone()[0] == 0
            )  # outer not committed yet
    with session(path) as again:
        assert again.conn is outer.conn
        assert again.execute("SELECT v FROM t").fetchall() == [(1,)]


def _lock_is_free(path: str) -> bool:
    """Can a separate connection take the write lock right now?"""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()


def test_exception_in_immediate_rolls_back_and_connection_stays_usable(path: str) -> None:
    with pytest.raises(RuntimeError), session(path) as db, immediate(db):
        db.execute("INSERT INTO t VALUES ('x', 1)")
        raise RuntimeError("boom")
    assert not db.conn.in_transaction
    assert _lock_is_free(path)
    with session(path) as again, immediate(again):
        assert again.conn is db.conn
        assert again.execute("SELECT count(*) FROM t").fetchone()[0] == 0
        again.execute("INSERT INTO t VALUES ('y', 2)")
    with session(path) as check:
        assert check.execute("SELECT k FROM t").fetchall() == [("y",)]


def test_failed_statement_in_immediate_rolls_back(path: str) -> None:
    with session(path) as db, immediate(db):
        db.execute("INSERT INTO t VALUES ('dup', 1)")
    with pytest.raises(sqlite3.IntegrityError), session(path) as db, immediate(db):
        db.execute("INSERT INTO t VALUES ('new', 1)")
        db.execute("INSERT INTO t VALUES ('dup', 2)")
    assert _lock_is_free(path)
    with session(path) as db:
        assert db.execute("SELECT k FROM t ORDER BY k").fetchall() == [("dup",)]


def test_failed_commit_rolls_back_and_releases_the_lock(tmp_path: Path) -> None:
    """A deferred foreign key fails at COMMIT, leaving SQLite's transaction open: we must end it."""
    p = str(tmp_path / "fk.sqlite")
    with session(p) as db:
        db.conn.execute("PRAGMA foreign_keys=ON")
        db.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        db.execute(
            "CREATE TABLE child (pid INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)"
        )
    with pytest.raises(sqlite3.IntegrityError), session(p) as db, immediate(db):
        db.execute("INSERT INTO child VALUES (42)")
    assert not db.conn.in_transaction
    assert _lock_is_free(p)
    with session(p) as again, immediate(again):
        again.execute("INSERT INTO parent VALUES (1)")
        again.execute("INSERT INTO child VALUES (1)")
    with session(p) as check:
        assert check.execute("SELECT pid FROM child").fetchall() == [(1,)]


def test_transaction_left_open_is_rolled_back_at_session_end(path: str) -> None:
    with session(path) as db:
        db.conn.execute("BEGIN")
        db.conn.execute("INSERT INTO t VALUES ('z', 1)")
    assert not db.conn.in_transaction
    assert _lock_is_free(path)
    with session(path) as db:
        assert db.execute("SELECT count(*) FROM t").fetchone()[0] == 0


def test_exception_in_session_leaves_no_transaction(path: str) -> None:
    with pytest.raises(ValueError), session(path) as db:
        db.conn.execute("BEGIN IMMEDIATE")
        raise ValueError("oops")
    assert _lock_is_free(path)
    with session(path) as again:
        assert again.conn is db.conn


def test_close_all_closes_and_the_next_session_reopens(path: str) -> None:
    with session(path) as db:
        old = db.conn
    close_all()
    with pytest.raises(sqlite3.ProgrammingError):
        old.execute("SELECT 1")
    with session(path) as db:
        assert db.conn is not old
        assert db.execute("SELECT count(*) FROM t").fetchone()[0] == 0


def test_close_all_during_a_session_waits_for_its_end(path: str) -> None:
    with session(path) as db:
        close_all()
        db.execute("INSERT INTO t VALUES ('still', 1)")  # the connection in use is not pulled away
    with pytest.raises(sqlite3.ProgrammingError):
        db.conn.execute("SELECT 1")
    with session(path) as again:
        assert again.execute("SELECT k FROM t").fetchall() == [("still",)]


def test_replaced_file_is_not_served_by_a_stale_connection(tmp_path: Path) -> None:
    p = tmp_path / "gone.sqlite"
    with session(p) as db:
        db.execute("CREATE TABLE t (x)")
        db.execute("INSERT INTO t VALUES (1)")
        old = db.conn
    for suffix in ("", "-wal", "-shm"):
        Path(f"{p}{suffix}").unlink(missing_ok=True)
    with session(p) as db:
        assert db.conn is not old
        assert db.table_names() == []


def test_threads_do_not_share_connections_under_load(path: str) -> None:
    """Many threads writing through their cached connections: no errors, nothing lost."""
    errors: list[BaseException] = []
    conns: dict[int, set[int]] = {}

    def work(n: int) -> None:
        try:
            for i in range(25):
                with session(path) as db, immediate(db):
                    conns.setdefault(n, set()).add(id(db.conn))
                    db.execute("INSERT INTO t VALUES (?, ?)", [f"{n}-{i}", i])
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert all(len(ids) == 1 for ids in conns.values())  # each thread reused one connection
    with session(path) as db:
        assert db.execute("SELECT count(*) FROM t").fetchone()[0] == 200


def _child_writes(path: str, inherited_id: int, queue: Any) -> None:
    with session(path) as db, immediate(db):
        db.execute("INSERT INTO t VALUES ('child', 1)")
        queue.put(id(db.conn) != inherited_id)


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_forked_child_opens_its_own_connection(path: str) -> None:
    with session(path) as db:
        parent_conn = db.conn
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child_writes, args=(path, id(parent_conn), queue))
    proc.start()
    try:
        assert queue.get(timeout=60) is True
    finally:
        proc.join(timeout=60)
    assert proc.exitcode == 0
    with session(path) as db:  # the parent's connection still works and sees the child's row
        assert db.conn is parent_conn
        assert db.execute("SELECT k FROM t").fetchall() == [("child",)]
