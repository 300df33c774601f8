"""Open the checkpoint files, encrypted at rest by default under a key ring that can be rotated.

Why encrypt: checkpoints hold the conversation (user messages, tool results) the model needs, so
they cannot be redacted; encryption is what keeps someone who can read the data folder (a backup,
a shared host) from reading them. The ring format and the cipher are in `safe_agent.keyring`.

Where the keys come from (docs/privacy.md):

1. `$LANGGRAPH_AES_KEY`: LangGraph's own single key (16, 24 or 32 bytes), in LangGraph's format.
2. `$SAFE_AGENT_DATA_KEY`: a ring in the environment, secrets separated by commas or newlines.
3. `$SAFE_AGENT_DATA_KEY_FILE`: a ring file the operator keeps (a mounted secret); it must exist.
4. `<data folder>/checkpoint.key`, created on first use when none of the above is set (0600,
   never overwriting: two processes racing both end up with the first one's key). It is never
   re-created for a folder whose checkpoints are already encrypted: a lost key is a one-line
   error, not a fresh key that would silently make every thread unreadable.

The first source present gives the key new blobs are written with; the keys of every source
present are read, so moving from one source to another (or rotating) keeps old threads. Blobs
written before encryption (a type without `+`) stay readable: `EncryptedSerializer` hands them to
the plain serializer. Checkpoint *metadata* (step, source, thread and run ids) is JSON that
LangGraph never encrypts; the conversation is not in it.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.sqlite import SqliteSaver

from safe_agent.database import fetch, is_postgres, open_postgres_checkpointer, resolve_url
from safe_agent.keyring import (
    LEGACY_ID,
    CheckpointKeyError,
    KeyRing,
    KeyRingCipher,
    cipher_name,
    legacy_key,
    parse_ring,
)
from safe_agent.stores._files import FileRefused, read_bounded_text
from safe_agent.stores._sqlite import BUSY_TIMEOUT_MS, private_dir, private_file

__all__ = [
    "CheckpointKeyError",
    "KeyRing",
    "KeyRingCipher",
    "checkpoint_serde",
    "cipher_name",
    "load_keyring",
    "open_checkpointer",
    "open_saver",
    "parse_ring",
    "paused_threads",
    "threads_with_checkpoints",
]

KEY_ENV = "LANGGRAPH_AES_KEY"
DATA_KEY_ENV = "SAFE_AGENT_DATA_KEY"
DATA_KEY_FILE_ENV = "SAFE_AGENT_DATA_KEY_FILE"
KEY_FILENAME = "checkpoint.key"
Locked = Callable[[], list[str]]
"""Names the stores beyond the folder's files whose checkpoints are encrypted (none: [])."""
_HEADER = (
    "# safe-agent checkpoint keys (docs/privacy.md): the first is current, later ones\n"
    "# are kept to read older checkpoints. Losing this file loses the encrypted threads.\n"
)
_ENCRYPTED = (
    "SELECT EXISTS(SELECT 1 FROM checkpoints WHERE type LIKE '%+%') OR "
    "EXISTS(SELECT 1 FROM writes WHERE type LIKE '%+%')"
)


def default_key_file(home: str | Path) -> Path:
    """`<data folder>/checkpoint.key`: the ring used when the operator names none."""
    return Path(home) / KEY_FILENAME


def checkpoint_files(home: str | Path) -> list[Path]:
    """The checkpoint files of a data folder: the facade's and Studio's (`*checkpoints.sqlite`)."""
    return sorted(Path(home).glob("*checkpoints.sqlite"))


def encrypted_checkpoint_files(home: str | Path) -> list[Path]:
    """The checkpoint files of `home` that hold at least one encrypted blob."""
    found = []
    for path in checkpoint_files(home):
        uri = path.resolve().as_uri() + "?mode=ro"
        try:
            conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
            try:
                row = conn.execute(_ENCRYPTED).fetchone()
            finally:
                conn.close()
        except sqlite3.Error:  # not a checkpoint database (yet): nothing encrypted in it
            continue
        if row and row[0]:
            found.append(path)
    return found


def write_ring_file(file: Path, lines: list[str], *, replace: bool) -> None:
    """Write a ring atomically, mode 0600. A new file never overwrites one another process made
    (`replace=False`: the first writer wins); a rotated one replaces the old in one rename."""
    private_dir(file.parent)
    fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=".checkpoint-key-")  # mode 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(_HEADER + "".join(f"{line}\n" for line in lines))
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(tmp, file)
            tmp = ""
        else:
            try:
                os.link(tmp, file)
            except FileExistsError:
                pass
    finally:
        if tmp:
            os.unlink(tmp)


KEY_FILE_MAX_BYTES = 64 * 1024
"""A key ring is a few lines; anything larger (or `/dev/zero`) is refused unread."""


def _read_ring_file(file: Path, what: str) -> KeyRing:
    try:
        text = read_bounded_text(file, KEY_FILE_MAX_BYTES)
    except FileRefused as exc:
        raise CheckpointKeyError(f"cannot read {what} {file}: {exc}") from None
    return parse_ring(text, f"{what} {file}")


def _first_use(home: str | Path, file: Path, create: bool, locked: Locked | None) -> None:
    """Make the default key file, unless the folder's checkpoints (or the database's, `locked`)
    show a key was lost."""
    found = [p.name for p in encrypted_checkpoint_files(home)] + (locked() if locked else [])
    if found:
        raise CheckpointKeyError(
            f"{file} is missing but {found[0]} is encrypted: restore it, or set the key "
            f"those threads were written with (${KEY_ENV}, ${DATA_KEY_ENV} or "
            f"${DATA_KEY_FILE_ENV})"
        )
    if not create:
        raise CheckpointKeyError(f"no checkpoint key yet: {file} does not exist")
    write_ring_file(file, [secrets.token_hex(32)], replace=False)


def load_keyring(home: str | Path, *, create: bool = True, locked: Locked | None = None) -> KeyRing:
    """Return the checkpoint key ring of the data folder `home` (sources in the module doc).

    The default key file is made only when no other source is set, and never with `create=False`
    or when `locked()` names a store (a PostgreSQL database) whose checkpoints are encrypted.
    """
    parts: list[KeyRing] = []
    if legacy := os.environ.get(KEY_ENV):
        raw = legacy_key(legacy, KEY_ENV)
        parts.append(KeyRing(f"${KEY_ENV}", {LEGACY_ID: raw}, (f"{LEGACY_ID}:{legacy}",)))
    if value := os.environ.get(DATA_KEY_ENV):
        parts.append(parse_ring(value.replace(",", "\n"), f"${DATA_KEY_ENV}"))
    named = os.environ.get(DATA_KEY_FILE_ENV)
    if named:
        parts.append(_read_ring_file(Path(named), f"${DATA_KEY_FILE_ENV}"))
    file = default_key_file(home)
    if not parts and not file.exists():
        _first_use(home, file, create, locked)
    if file.exists() and not (named and Path(named).resolve() == file.resolve()):
        parts.append(_read_ring_file(file, "key file"))
    keys: dict[str, bytes] = {}
    for part in parts:
        for kid, key in part.keys.items():
            keys.setdefault(kid, key)
    return KeyRing(" + ".join(p.source for p in parts), keys, parts[0].lines)


def checkpoint_serde(
    home: str | Path, *, create: bool = True, locked: Locked | None = None
) -> EncryptedSerializer:
    """The serializer for the checkpoints of `home` (its files, or the database `locked` checks
    on first use): encrypting under the folder's key ring."""
    ring = load_keyring(home, create=create, locked=locked)
    return EncryptedSerializer(KeyRingCipher(ring, lambda: load_keyring(home, create=False)))


def open_checkpointer(path: str | Path) -> SqliteSaver:
    """Open the one SqliteSaver this process uses for a checkpoint file (WAL, busy timeout, mode
    0600), encrypting under the key ring of the file's folder."""
    folder = private_dir(Path(path).parent)
    serde = checkpoint_serde(folder)  # first: a lost key must not leave an empty file behind
    private_file(path)
    conn = sqlite3.connect(str(path), check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode=WAL")
    saver = SqliteSaver(conn, serde=serde)
    saver.setup()
    return saver


def open_saver(path: str | Path, database_url: str | None = None) -> BaseCheckpointSaver[Any]:
    """Open the checkpointer the setting selects: PostgreSQL when `database_url` (else
    `$SAFE_AGENT_DATABASE_URL`) is set, keys from the folder of `path`; else the SQLite file."""
    url = resolve_url(database_url)
    if url is None:
        return open_checkpointer(path)
    return open_postgres_checkpointer(url, private_dir(Path(path).parent))


PAUSED_THREADS_SQL = """
SELECT c.thread_id FROM checkpoints AS c
JOIN (SELECT thread_id, MAX(checkpoint_id) AS last FROM checkpoints WHERE checkpoint_ns = ''
      GROUP BY thread_id) AS m
  ON c.thread_id = m.thread_id AND c.checkpoint_id = m.last AND c.checkpoint_ns = ''
WHERE EXISTS (SELECT 1 FROM {writes} AS w WHERE w.thread_id = c.thread_id
              AND w.checkpoint_ns = '' AND w.checkpoint_id = c.checkpoint_id
              AND w.channel = '__interrupt__')
ORDER BY c.thread_id
"""
"""Threads whose latest checkpoint carries an interrupt write: the paused ones (each confirmed
by get_state). `{writes}` is the writes table: `writes` in SQLite, `checkpoint_writes` in
PostgreSQL."""


def paused_threads(saver: BaseCheckpointSaver[Any]) -> list[str]:
    """The threads whose latest checkpoint carries an interrupt, sorted: one query on SQLite and
    PostgreSQL, the saver's own `list` API on any other backend (it reads every checkpoint)."""
    if isinstance(saver, SqliteSaver):
        try:
            rows = saver.conn.execute(PAUSED_THREADS_SQL.format(writes="writes")).fetchall()
        except sqlite3.Error:  # an unexpected checkpoint schema: let get_state judge every thread
            rows = saver.conn.execute("SELECT DISTINCT thread_id FROM checkpoints").fetchall()
        return sorted(r[0] for r in rows)
    if is_postgres(saver):
        return [r[0] for r in fetch(saver, PAUSED_THREADS_SQL.format(writes="checkpoint_writes"))]
    latest: dict[str, bool] = {}
    for item in saver.list(None):
        conf = item.config["configurable"]
        if conf.get("checkpoint_ns", "") == "" and conf["thread_id"] not in latest:
            writes = item.pending_writes or ()
            latest[conf["thread_id"]] = any(w[1] == "__interrupt__" for w in writes)
    return sorted(t for t, paused in latest.items() if paused)


def threads_with_checkpoints(saver: BaseCheckpointSaver[Any], threads: set[str]) -> set[str]:
    """Which of `threads` have at least one checkpoint (a thread without one was lost)."""
    if not threads:
        return set()
    if isinstance(saver, SqliteSaver):
        marks = ",".join("?" for _ in threads)
        sql = f"SELECT DISTINCT thread_id FROM checkpoints WHERE thread_id IN ({marks})"
        return {r[0] for r in saver.conn.execute(sql, list(threads)).fetchall()}
    if is_postgres(saver):
        sql = "SELECT DISTINCT thread_id FROM checkpoints WHERE thread_id = ANY(%s)"
        return {r[0] for r in fetch(saver, sql, (list(threads),))}
    return {
        t
        for t in threads
        if saver.get_tuple({"configurable": {"thread_id": t, "checkpoint_ns": ""}})
    }
