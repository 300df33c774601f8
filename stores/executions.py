"""The execution ledger: every tool call's life, so an approved action runs at most once.

A row is keyed by the call's idempotency key, itself derived from (thread, tool_call_id,
action digest). `begin` inserts "started" atomically or returns the existing row; `finish`
records the (redacted) result. A row left "started" by a crashed process is *in doubt*: the
executor does not guess, a person reconciles it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from safe_agent.policies.redaction import redact_value
from safe_agent.stores._sqlite import immediate, session

Status = Literal["started", "succeeded", "failed", "reconciled_done", "reconciled_not_done"]
FINISHED: frozenset[str] = frozenset({"succeeded", "failed", "reconciled_done"})
"""`reconciled_not_done` is not finished: the effect did not happen, so the call may still run."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS executions (
    key TEXT PRIMARY KEY,
    thread_id TEXT NOT NULL,
    tool_call_id TEXT NOT NULL,
    action_digest TEXT NOT NULL,
    tool_name TEXT NOT NULL,
    status TEXT NOT NULL,
    result TEXT,
    attempts INTEGER NOT NULL DEFAULT 1,
    started_at REAL NOT NULL,
    finished_at REAL,
    resolved_by TEXT
)
"""


@dataclass(frozen=True, slots=True)
class Execution:
    """One ledger row."""

    key: str
    thread_id: str
    tool_call_id: str
    action_digest: str
    tool_name: str
    status: str
    result: dict[str, Any] | None
    attempts: int
    started_at: float
    finished_at: float | None
    resolved_by: str | None

    @property
    def finished(self) -> bool:
        """Say whether the call has a final, recorded outcome."""
        return self.status in FINISHED


def _row(row: tuple[Any, ...] | None) -> Execution | None:
    if row is None:
        return None
    values = list(row)
    values[6] = json.loads(values[6]) if values[6] else None
    return Execution(*values)


_SELECT = (
    "SELECT key, thread_id, tool_call_id, action_digest, tool_name, status, result, attempts, "
    "started_at, finished_at, resolved_by FROM executions"
)


class ExecutionLedger:
    """The `executions` table in the safety database."""

    def __init__(self, path: str | Path) -> None:
        """Create the table if missing."""
        self.path = str(path)
        with session(self.path) as db:
            db.execute(_SCHEMA)

    def begin(
        self,
        key: str,
        *,
        thread_id: str,
        tool_call_id: str,
        digest: str,
        tool_name: str,
        now: float,
    ) -> Execution | None:
        """Record "started" and return None, or return the existing row (nothing written)."""
        with session(self.path) as db, immediate(db):
            existing = _row(db.execute(f"{_SELECT} WHERE key = ?", [key]).fetchone())
            if existing is None:
                db.execute(
                    "INSERT INTO executions (key, thread_id, tool_call_id, action_digest, "
                    "tool_name, status, started_at) VALUES (?, ?, ?, ?, ?, 'started', ?)",
                    [key, thread_id, tool_call_id, digest, tool_name, now],
                )
            return existing

    def restart(self, key: str, *, now: float) -> None:
        """Mark an in-doubt call as started again (idempotent tool, or reconciled as not done)."""
        with session(self.path) as db, immediate(db):
            db.execute(
                "UPDATE executions SET status = 'started', attempts = attempts + 1, started_at = ? "
                "WHERE key = ? AND status IN ('started', 'reconciled_not_done')",
                [now, key],
            )

    def finish(
        self,
        key: str,
        *,
        success: bool,
        result: dict[str, Any],
        now: float,
        resolved_by: str | None = None,
        status: Status | None = None,
    ) -> None:
        """Record the outcome and its redacted result."""
        clean, _ = redact_value(result)
        final = status or ("succeeded" if success else "failed")
        with session(self.path) as db, immediate(db):
            db.execute(
                "UPDATE executions SET status = ?, result = ?, finished_at = ?, resolved_by = ? "
                "WHERE key = ?",
                [final, json.dumps(clean, default=str), now, resolved_by, key],
            )

    def get(self, key: str) -> Execution | None:
        """Return one row."""
        with session(self.path) as db:
            return _row(db.execute(f"{_SELECT} WHERE key = ?", [key]).fetchone())

    def unfinished(self, thread_id: str | None = None) -> list[Execution]:
        """Return the calls in doubt (started, never finished): of one thread, or of all."""
        where, params = (
            ("status = 'started' AND thread_id = ?", [thread_id])
            if thread_id
            else ("status = 'started'", [])
        )
        with session(self.path) as db:
            rows = db.execute(f"{_SELECT} WHERE {where} ORDER BY started_at", params).fetchall()
        return [e for e in map(_row, rows) if e is not None]

    def for_thread(self, thread_id: str) -> list[Execution]:
        """Return a thread's rows, oldest first."""
        with session(self.path) as db:
            rows = db.execute(
                f"{_SELECT} WHERE thread_id = ? ORDER BY started_at", [thread_id]
            ).fetchall()
        return [e for e in map(_row, rows) if e is not None]
