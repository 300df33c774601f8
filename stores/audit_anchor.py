"""Where the audit log's key and head live: never inside the audit file.

`AuditAnchors` keeps the head of the log (log id, last seq, its hash, the key id, and a MAC over
them) in a table of another SQLite file, the safety store. Someone who can rewrite
`audit.sqlite` can cut rows off its end or swap the whole file; the anchor, which they cannot
re-sign without the key, still names the row that must be there.

`load_key` finds the MAC key: `$SAFE_AGENT_AUDIT_KEY`, else the operator's `[audit] key_file`,
else `<home>/audit.key`, created on first use (mode 0600). Whoever can read the key can forge
rows, so an operator should keep it outside the data folder (`docs/audit.md`).
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import tempfile
from pathlib import Path

from safe_agent.stores._files import FileRefused, read_bounded_text
from safe_agent.stores._sqlite import immediate, session
from safe_agent.stores.audit_chain import Head

ANCHOR_TABLE = "audit_anchor"
MIN_KEY_CHARS = 32
_NAME = "audit"
_COLUMNS = ("log_id", "seq", "hash", "key_id", "legacy_through", "time", "mac")
_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {ANCHOR_TABLE} (name TEXT PRIMARY KEY, log_id TEXT NOT NULL, "
    "seq INTEGER NOT NULL, hash TEXT NOT NULL, key_id TEXT NOT NULL, "
    "legacy_through INTEGER NOT NULL, time TEXT NOT NULL, "
    "mac TEXT NOT NULL)"
)


class AuditKeyError(ValueError):
    """The audit key is missing, unreadable or too short."""


KEY_FILE_MAX_BYTES = 64 * 1024
"""An audit key is one line; anything larger (or `/dev/zero`) is refused unread."""


def _read_key(file: Path, what: str) -> bytes:
    try:
        lines = read_bounded_text(file, KEY_FILE_MAX_BYTES).splitlines()
    except FileRefused as exc:
        raise AuditKeyError(f"cannot read {what} {file}: {exc}") from None
    return _checked(lines[0].strip() if lines else "", f"{what} {file}")


def _checked(value: str, where: str) -> bytes:
    if len(value) < MIN_KEY_CHARS:
        raise AuditKeyError(f"the audit key in {where} is shorter than {MIN_KEY_CHARS} characters")
    return value.encode()


def _create_key(file: Path) -> None:
    """Write a random key to `file` (mode 0600) unless another process got there first."""
    file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=".audit-key-")  # mkstemp: mode 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        os.link(tmp, file)  # atomic and never overwrites: the first writer's key wins
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)


def load_key(
    *, env_value: str | None, key_file: str | Path | None, default_file: Path, create: bool
) -> bytes:
    """Return the audit MAC key from the environment, the operator's key file or the default file.

    Args:
        env_value: the value of $SAFE_AGENT_AUDIT_KEY, if set.
        key_file: `[audit] key_file`; it must exist (it is never created).
        default_file: `<home>/audit.key`, used when neither of the above is set.
        create: make `default_file` with a random key if it does not exist.
    """
    if env_value:
        return _checked(env_value.strip(), "$SAFE_AGENT_AUDIT_KEY")
    if key_file:
        return _read_key(Path(key_file), "audit key file")
    if create and not default_file.exists():
        _create_key(default_file)
    if not default_file.exists():
        raise AuditKeyError(
            f"no audit key: {default_file} does not exist "
            "(set SAFE_AGENT_AUDIT_KEY or [audit] key_file)"
        )
    return _read_key(default_file, "audit key file")


class AuditAnchors:
    """The head of the audit log, in a table of the safety store."""

    def __init__(self, path: str | Path) -> None:
        """Remember the file; the first write makes the table, so reading never creates anything."""
        self.path = str(path)
        self._ready = False

    def read(self) -> Head | None:
        """Return the stored head, or None if the file, the table or the row is missing."""
        if not Path(self.path).exists():
            return None
        with session(self.path) as db:
            try:
                row = db.conn.execute(
                    f"SELECT {', '.join(_COLUMNS)} FROM {ANCHOR_TABLE} WHERE name = ?", [_NAME]
                ).fetchone()
            except sqlite3.OperationalError:  # no such table
                return None
        return None if row is None else Head(**dict(zip(_COLUMNS, row, strict=True)))

    def advance(self, head: Head) -> None:
        """Store `head` if there is none yet, or it extends the stored one (same log, later row)."""
        self._write(
            head,
            f"WHERE excluded.seq > {ANCHOR_TABLE}.seq AND excluded.log_id = {ANCHOR_TABLE}.log_id",
        )

    def replace(self, head: Head) -> None:
        """Store `head` whatever was there (adoption of a log: `AuditLog.adopt`)."""
        self._write(head, "")

    def _write(self, head: Head, condition: str) -> None:
        values = [getattr(head, c) for c in _COLUMNS]
        updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS)
        with session(self.path) as db, immediate(db):
            if not self._ready:  # once per instance; a file replaced since is caught below
                db.conn.execute(_CREATE)
                self._ready = True
            upsert = (
                f"INSERT INTO {ANCHOR_TABLE} (name, {', '.join(_COLUMNS)}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                f"ON CONFLICT(name) DO UPDATE SET {updates} {condition}"
            )
            try:
                db.conn.execute(upsert, [_NAME, *values])
            except sqlite3.OperationalError:  # no such table: the safety file was replaced under us
                db.conn.execute(_CREATE)
                db.conn.execute(upsert, [_NAME, *values])
