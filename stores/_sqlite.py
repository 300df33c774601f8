"""One way to open a SQLite file for the safety stores: WAL, a busy timeout, autocommit off.

Several threads and processes share each file without "database is locked": WAL lets readers
run beside one writer, and the busy timeout makes writers queue instead of failing.

Connections are reused. Opening one per call (and closing it, which checkpoints the WAL when it
was the last connection to the file) cost about a millisecond per store call, so `session`
hands out a cached connection instead:

- one connection per (process, thread, file), kept in a thread-local cache. sqlite3 connections
  must not be used by two threads at once, and must never be carried across a fork, so the cache
  is per thread and checks `os.getpid()`; a child process never touches (or closes) the
  connections it inherited, it opens its own.
- the pragmas are set once, when the connection is made (WAL, busy_timeout, synchronous=NORMAL).
- ":memory:" (and "") are never cached: every session gets its own private database, as before.
- a nested `session` on the same file in the same thread gets a separate, short-lived
  connection, exactly as before caching (so an outer `immediate` transaction is not disturbed).
- if the file was deleted or replaced since the connection was made (checked with one `stat`
  per session), the stale connection is dropped and a new one opened.
- when a session ends, any transaction the caller left open is rolled back (closing did that
  before), so the next user of the connection starts clean. Cursors must not outlive the session.

Atomicity is unchanged: every read-decide-write still runs inside `immediate` (BEGIN IMMEDIATE),
which rolls back on any exception and leaves the cached connection usable.

Files are private: someone who can read the data folder must not read the conversation, the
ledgers or the desk. SQLite creates a database as 0644 minus the umask and gives its -wal/-shm
the main file's mode, so `private_file` creates the file 0600 before SQLite opens it and chmods
an existing one (and its sidecars): the mode does not depend on the caller's umask.
`private_dir` makes missing folders 0700.
"""

from __future__ import annotations

import atexit
import os
import sqlite3
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

BUSY_TIMEOUT_MS = 30_000
MAX_CACHED_PER_THREAD = 16  # least recently used connections beyond this are closed
_UNCACHED = frozenset({":memory:", ""})
FILE_MODE = 0o600
DIR_MODE = 0o700
_SIDECARS = ("", "-wal", "-shm", "-journal")


def private_dir(path: str | Path) -> Path:
    """Create `path` and its missing parents mode 0700 (umask-independent); return it.

    Folders that already exist are left alone: a store's parent may be the user's home or /tmp.
    """
    folder = Path(path)
    missing = []
    probe = folder
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for made in reversed(missing):
        try:
            made.mkdir(mode=DIR_MODE)
        except FileExistsError:  # another process made it first; it still gets our mode
            pass
        os.chmod(made, DIR_MODE)
    return folder


def private_folder(path: str | Path) -> Path:
    """Make the data folder 0700 and every file directly in it 0600, creating it if needed.

    Run when the folder is opened, so files made by an older version (or another tool) with a
    looser mode are tightened too. Someone else's folder or file is left to its owner.
    """
    folder = private_dir(path)
    files = [(f, FILE_MODE) for f in folder.iterdir() if f.is_file()]
    for target, mode in [(folder, DIR_MODE), *files]:
        try:
            os.chmod(target, mode)
        except (PermissionError, FileNotFoundError):  # not ours, or removed meanwhile
            continue
    return folder


def private_file(path: str | Path) -> None:
    """Create the file `path` mode 0600 if missing; make it and its -wal/-shm/-journal 0600.

    An empty file is a valid empty SQLite database, so creating it first (O_EXCL, never
    truncating a file another process just made) is how its mode is chosen before SQLite's.
    """
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        pass
    for suffix in _SIDECARS:
        try:
            os.chmod(f"{path}{suffix}", FILE_MODE)
        except FileNotFoundError:
            continue
        except PermissionError:  # not ours to change: another user's file is their concern
            continue


def open_db(path: str | Path) -> sqlite_utils.Database:
    """Open a new connection (creating parent folders 0700 and the file 0600) with WAL and a busy
    timeout; the caller closes it."""
    if str(path) not in _UNCACHED:
        private_dir(Path(path).parent)
        private_file(path)
    conn = sqlite3.connect(
        str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    if str(path) not in _UNCACHED:
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return sqlite_utils.Database(conn)


def _rollback_if_open(conn: sqlite3.Connection) -> bool:
    """Roll back an open transaction; return False if the connection is left in a bad state."""
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        return not conn.in_transaction
    except sqlite3.Error:
        return False


@contextmanager
def immediate(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Run a read-decide-write step atomically: BEGIN IMMEDIATE takes the write lock first.

    Any exception (in the body or in COMMIT) rolls the transaction back before it propagates, so
    a cached connection is never left holding the write lock.
    """
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        _rollback_if_open(conn)  # the original exception matters more than a failed ROLLBACK
        raise
    try:
        conn.execute("COMMIT")
    except BaseException:
        _rollback_if_open(conn)
        raise


class _Entry:
    """One cached connection and what `session` needs to know about it."""

    __slots__ = ("__weakref__", "busy", "closed", "db", "doomed", "file_id", "pid")

    def __init__(self, db: sqlite_utils.Database, file_id: tuple[int, int] | None) -> None:
        self.db = db
        self.file_id = file_id
        self.pid = os.getpid()
        self.busy = False  # a session in the owning thread is using it
        self.closed = False
        self.doomed = False  # close_all ran while it was busy: close when the session ends


_lock = threading.Lock()  # guards busy/closed/doomed transitions against close_all()
_registry: weakref.WeakSet[_Entry] = weakref.WeakSet()  # every live entry, for close_all()
_local = threading.local()
_inherited: list[_Entry] = []  # connections inherited over fork: never used, never closed


def _file_id(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _close(entry: _Entry) -> None:
    """Close an idle entry (caller holds `_lock` or owns the entry)."""
    if entry.closed:
        return
    entry.closed = True
    try:
        entry.db.conn.close()
    except sqlite3.Error:
        pass


def _thread_cache() -> OrderedDict[str, _Entry]:
    pid = os.getpid()
    if getattr(_local, "pid", None) != pid:
        old = getattr(_local, "cache", None)
        if old:  # forked: keep the parent's connections alive but untouched
            _inherited.extend(old.values())
        _local.pid, _local.cache = pid, OrderedDict()
    return _local.cache


def _discard(cache: OrderedDict[str, _Entry], key: str) -> None:
    entry = cache.pop(key, None)
    if entry is not None:
        with _lock:
            _close(entry)


def _cached(key: str) -> _Entry:
    """Return this thread's connection to `key` (an absolute path), opening it if needed."""
    cache = _thread_cache()
    entry = cache.get(key)
    if entry is not None:
        if entry.busy:  # nested session: the caller opens a private connection
            return entry
        if not entry.closed and entry.file_id is not None and entry.file_id == _file_id(key):
            cache.move_to_end(key)
            return entry
        _discard(cache, key)  # closed by close_all, or the file was deleted/replaced
    db = open_db(key)
    entry = _Entry(db, _file_id(key))
    cache[key] = entry
    with _lock:
        _registry.add(entry)
    while len(cache) > MAX_CACHED_PER_THREAD:
        oldest = next(iter(cache))
        if cache[oldest].busy:
            break
        _discard(cache, oldest)
    return entry


@contextmanager
def _private(path: str) -> Iterator[sqlite_utils.Database]:
    db = open_db(path)
    try:
        yield db
    finally:
        db.conn.close()


@contextmanager
def session(path: str | Path) -> Iterator[sqlite_utils.Database]:
    """Yield this thread's cached connection to `path` for one unit of work (see the module doc).

    The connection stays open afterwards; a transaction left open by the caller is rolled back.
    """
    raw = str(path)
    if raw in _UNCACHED:
        with _private(raw) as db:
            yield db
        return
    key = os.path.abspath(raw)
    entry = _cached(key)
    with _lock:
        nested = entry.busy or entry.closed  # closed: close_all() ran since _cached() returned it
        if not nested:
            entry.busy = True
    if nested:  # re-entrant use on this thread: a separate connection, as before caching
        with _private(key) as db:
            yield db
        return
    try:
        yield entry.db
    finally:
        clean = _rollback_if_open(entry.db.conn)
        with _lock:
            entry.busy = False
            if entry.doomed or not clean:
                _close(entry)
        if entry.closed:
            cache = _thread_cache()
            if cache.get(key) is entry:
                del cache[key]


def close_all() -> None:
    """Close every cached connection of this process (for tests and shutdown).

    Connections in use by a session are closed when that session ends. Threads open fresh
    connections on their next session.
    """
    pid = os.getpid()
    with _lock:
        for entry in list(_registry):
            if entry.pid != pid or entry.closed:
                continue
            if entry.busy:
                entry.doomed = True
            else:
                _close(entry)
    cache = getattr(_local, "cache", None)
    if cache is not None and getattr(_local, "pid", None) == pid:
        for key in [k for k, e in cache.items() if e.closed]:
            del cache[key]


atexit.register(close_all)
