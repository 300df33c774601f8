"""The append-only, hash-chained audit log of every safety decision.

Each row looks like an OPA decision-log event (id, time, path, redacted input, result, reason)
plus the fields an incident review asks for (user, thread, step, tool, cost, latency). Rows are
redacted before they are written, written once per `event_id` (a replayed node cannot duplicate
them), chained by SHA-256 so any edit is detectable, and guarded by triggers against UPDATE and
DELETE.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils.db import jsonify_if_needed  # the value conversion sqlite-utils' insert applied
from typing_extensions import TypedDict

from policies.redaction import redact_value
from stores._sqlite import immediate, session

TABLE = "audit_events"
GENESIS = "0" * 64


class AuditEvent(TypedDict, total=False):
    """One decision, as nodes emit it into graph state."""

    event_id: str
    timestamp: str
    node: str
    kind: str
    decision: str
    reason_code: str
    policy_id: str
    detail: str
    thread_id: str
    run_id: str
    user_id: str
    session_id: str | None
    tenant: str | None
    step: int
    tool_name: str | None
    tool_call_id: str | None
    input: Any
    result_summary: str | None
    cost_usd: float
    tokens_in: int
    tokens_out: int
    latency_ms: float | None
    success: bool | None
    error: str | None
    retry_count: int
    breaker_state: str | None
    approver_id: str | None


COLUMNS: dict[str, type] = {
    "seq": int,
    "event_id": str,
    "timestamp": str,
    "node": str,
    "kind": str,
    "decision": str,
    "reason_code": str,
    "policy_id": str,
    "detail": str,
    "thread_id": str,
    "run_id": str,
    "user_id": str,
    "session_id": str,
    "tenant": str,
    "step": int,
    "tool_name": str,
    "tool_call_id": str,
    "input": str,
    "redacted_paths": str,
    "result_summary": str,
    "cost_usd": float,
    "tokens_in": int,
    "tokens_out": int,
    "latency_ms": float,
    "success": int,
    "error": str,
    "retry_count": int,
    "breaker_state": str,
    "approver_id": str,
    "prev_hash": str,
    "hash": str,
}
_HASHED = [c for c in COLUMNS if c not in ("seq", "hash")]
_INSERT_COLUMNS = [c for c in COLUMNS if c != "seq"]  # seq is the rowid: SQLite assigns it
_INSERT_SQL = (f"INSERT INTO {TABLE} ({', '.join(_INSERT_COLUMNS)}) "
               f"VALUES ({', '.join('?' * len(_INSERT_COLUMNS))})")


class AuditTampered(Exception):
    """The hash chain does not verify."""


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """Result of verifying the chain: ok, how many rows, and the first bad row if any."""

    ok: bool
    rows: int
    first_bad_seq: int | None = None
    problem: str = ""


def _row_hash(row: dict[str, Any]) -> str:
    payload = json.dumps({k: row.get(k) for k in _HASHED}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


_PLAIN = frozenset({str, int, float, bool, bytes, type(None)})


def _sql_value(value: Any) -> Any:
    """Convert a value as sqlite-utils' insert did (dict/list to JSON, dates to ISO ...); plain ones as is."""
    return value if type(value) in _PLAIN else jsonify_if_needed(value)


def _existing(conn: sqlite3.Connection, ids: list[Any]) -> set[Any]:
    """The subset of `ids` already in the log."""
    placeholders = ",".join("?" * len(ids))
    return {r[0] for r in conn.execute(f"SELECT event_id FROM {TABLE} WHERE event_id IN ({placeholders})", ids)}


def _to_row(event: AuditEvent) -> dict[str, Any]:
    redacted_input, input_paths = redact_value(event.get("input"))
    row: dict[str, Any] = {k: event.get(k) for k in COLUMNS if k not in ("seq", "input", "redacted_paths", "prev_hash", "hash")}
    for text_field in ("detail", "result_summary", "error"):
        if row.get(text_field) is not None:
            clean, paths = redact_value(str(row[text_field]))
            row[text_field] = clean
            input_paths += [f"#{text_field}"] if paths else []
    row["input"] = json.dumps(redacted_input, sort_keys=True, default=str) if redacted_input is not None else None
    row["redacted_paths"] = json.dumps(input_paths)
    if row.get("success") is not None:
        row["success"] = int(bool(row["success"]))
    row["cost_usd"] = float(row.get("cost_usd") or 0.0)
    for n in ("tokens_in", "tokens_out", "retry_count", "step"):
        row[n] = int(row.get(n) or 0)
    return row


class AuditLog:
    """The audit table in its own SQLite file."""

    def __init__(self, path: str | Path) -> None:
        """Create the table, its indexes and its append-only triggers if missing."""
        self.path = str(path)
        with session(self.path) as db:
            if TABLE not in db.table_names():
                db[TABLE].create(COLUMNS, pk="seq", not_null={"event_id", "timestamp", "hash"})
                db[TABLE].create_index(["event_id"], unique=True, if_not_exists=True)
                db[TABLE].create_index(["thread_id"], if_not_exists=True)
                for op in ("UPDATE", "DELETE"):
                    db.execute(
                        f"CREATE TRIGGER IF NOT EXISTS {TABLE}_no_{op.lower()} BEFORE {op} ON {TABLE} "
                        f"BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END"
                    )

    def append(self, events: list[AuditEvent]) -> int:
        """Write the events not yet written (by event_id), chained, in one transaction; return how many."""
        if not events:
            return 0
        with session(self.path) as db:
            conn = db.conn
            # Events already written are dropped on a plain read, before redacting them: rows
            # are never deleted (append-only triggers), so "written" cannot become "unwritten".
            written = _existing(conn, [e.get("event_id") for e in events])
            rows = [_to_row(e) for e in events if e.get("event_id") not in written]
            if not rows:
                return 0
            with immediate(db):
                # Inside the write lock: check again (another writer may have won) and chain.
                seen = _existing(conn, [r["event_id"] for r in rows])
                last = conn.execute(f"SELECT hash FROM {TABLE} ORDER BY seq DESC LIMIT 1").fetchone()
                prev = last[0] if last else GENESIS
                batch: list[list[Any]] = []
                for row in rows:  # the chain is computed row by row, in order
                    if row["event_id"] in seen:
                        continue
                    seen.add(row["event_id"])
                    row["prev_hash"] = prev
                    row["hash"] = prev = _row_hash(row)
                    batch.append([_sql_value(row.get(c)) for c in _INSERT_COLUMNS])
                if batch:
                    # Plain INSERT, not OR IGNORE: `seen` is exact inside this transaction, and a
                    # silently skipped row would break the chain; a UNIQUE violation rolls it all back.
                    conn.executemany(_INSERT_SQL, batch)
        return len(batch)

    def records(self, *, thread_id: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Return rows oldest first, optionally for one thread and only the last `limit`."""
        where, params = ("thread_id = ?", [thread_id]) if thread_id else (None, [])
        with session(self.path) as db:
            rows = list(db[TABLE].rows_where(where, params, order_by="seq desc", limit=limit))
        rows.reverse()
        for row in rows:
            row["input"] = json.loads(row["input"]) if row.get("input") else None
            row["redacted_paths"] = json.loads(row["redacted_paths"] or "[]")
            row["success"] = None if row["success"] is None else bool(row["success"])
        return rows

    def verify(self) -> ChainCheck:
        """Recompute the chain and name the first row that does not match."""
        prev = GENESIS
        count = 0
        with session(self.path) as db:
            for row in db[TABLE].rows_where(order_by="seq"):
                count += 1
                if row["prev_hash"] != prev:
                    return ChainCheck(False, count, row["seq"], "prev_hash does not match the row before")
                if _row_hash(row) != row["hash"]:
                    return ChainCheck(False, count, row["seq"], "row content does not match its hash")
                prev = row["hash"]
        return ChainCheck(True, count)
