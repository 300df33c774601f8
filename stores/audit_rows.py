"""What an audit row is: the event nodes emit, the columns it is stored in, and the export shape.

`to_row` redacts an event and types every value exactly as its column stores it, so the hash
of what is written is the hash of what is read back. `export_record` maps a stored row to the
field names incident tooling expects (`safe-agent audit export --jsonl`).
"""

from __future__ import annotations

import json
import math
import secrets
from typing import Any

from sqlite_utils.db import jsonify_if_needed  # the value conversion sqlite-utils' insert applied
from typing_extensions import TypedDict

from safe_agent.policies.redaction import redact_value
from safe_agent.stores.audit_chain import PERSONAL, pii_digest

TABLE = "audit_events"
META = "audit_meta"


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


FIRST_SCHEMA: dict[str, type] = {
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
ADDED = {
    "pii_salt": str,
    "pii_digest": str,
    "mac": str,
    "anonymised_at": str,
}  # since audit keys (issue 10)
COLUMNS: dict[str, type] = {**FIRST_SCHEMA, **ADDED}
SQL_TYPES = {str: "TEXT", int: "INTEGER", float: "FLOAT"}
INSERT_COLUMNS = [c for c in COLUMNS if c != "anonymised_at"]
INSERT_SQL = (
    f"INSERT INTO {TABLE} ({', '.join(INSERT_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(INSERT_COLUMNS))})"
)
BLANKED = ("pii_salt", *PERSONAL)
# UPDATE is refused unless it is retention: blanking the personal fields of a row not yet
# anonymised, and nothing else. The trigger only stops mistakes; `verify` is what catches an
# attacker (who can drop triggers): an anonymised row must be covered by a retention row.
_RETENTION_ONLY = " AND ".join(
    ["OLD.anonymised_at IS NULL", "NEW.anonymised_at IS NOT NULL", "OLD.pii_digest IS NOT NULL"]
    + [f"NEW.{c} IS NULL" for c in BLANKED]
    + [f"NEW.{c} IS OLD.{c}" for c in COLUMNS if c not in (*BLANKED, "anonymised_at")]
)
TRIGGERS = (
    f"CREATE TRIGGER IF NOT EXISTS {TABLE}_no_update BEFORE UPDATE ON {TABLE} "
    f"WHEN NOT ({_RETENTION_ONLY}) "
    "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
    f"CREATE TRIGGER IF NOT EXISTS {TABLE}_no_delete BEFORE DELETE ON {TABLE} "
    "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
)
_PLAIN = frozenset({str, int, float, bool, bytes, type(None)})


def _sql_value(value: Any) -> Any:
    """Convert a value as sqlite-utils' insert did (dict/list to JSON, dates to ISO ...).

    Plain values are returned as is.
    """
    return value if type(value) in _PLAIN else jsonify_if_needed(value)


def _typed(value: Any, kind: type) -> Any:
    """The value exactly as its column stores it.

    That way the hash of what is written is the hash of what is read.
    """
    if value is None:
        return None
    if kind is float:
        number = float(value)
        return number if math.isfinite(number) else None
    if kind is int:
        return int(value)
    value = _sql_value(value)
    return value if isinstance(value, str) else str(value)


def to_row(event: AuditEvent) -> dict[str, Any]:
    """Redact an event into a row of typed column values with a fresh salt and its `pii_digest`.

    The row is not yet chained.
    """
    redacted_input, input_paths = redact_value(event.get("input"))
    row: dict[str, Any] = {
        k: event.get(k)
        for k in FIRST_SCHEMA
        if k not in ("seq", "input", "redacted_paths", "prev_hash", "hash")
    }
    for text_field in ("detail", "result_summary", "error"):
        if row.get(text_field) is not None:
            clean, paths = redact_value(str(row[text_field]))
            row[text_field] = clean
            input_paths += [f"#{text_field}"] if paths else []
    row["input"] = (
        json.dumps(redacted_input, sort_keys=True, default=str)
        if redacted_input is not None
        else None
    )
    row["redacted_paths"] = json.dumps(input_paths)
    if row.get("success") is not None:
        row["success"] = int(bool(row["success"]))
    for n in ("cost_usd", "tokens_in", "tokens_out", "retry_count", "step"):
        row[n] = row.get(n) or 0
    row = {k: _typed(v, COLUMNS[k]) for k, v in row.items()}
    row["pii_salt"] = secrets.token_hex(16)
    row["pii_digest"] = pii_digest(row)
    return row


EXPORT_FIELDS = (
    "seq",
    "event_id",
    "timestamp",
    "user_id",
    "session_id",
    "thread_id",
    "run_id",
    "agent_step",
    "node",
    "kind",
    "decision",
    "reason_code",
    "tool_name",
    "tool_call_id",
    "tool_args",
    "tool_result_summary",
    "cost_usd",
    "latency_ms",
    "success",
    "error",
    "retry_count",
    "circuit_breaker_state",
    "approver_id",
    "anonymised",
    "hash",
)
"""The keys of one exported line, in order."""
_RENAMED = {
    "agent_step": "step",
    "tool_result_summary": "result_summary",
    "circuit_breaker_state": "breaker_state",
}


def export_record(row: dict[str, Any]) -> dict[str, Any]:
    """Map a decoded row (`AuditLog.records`) to the export's field names.

    `tool_args` is `input.args`.
    """
    args = row["input"].get("args") if isinstance(row.get("input"), dict) else None
    special = {"tool_args": args, "anonymised": row.get("anonymised_at") is not None}
    return {f: special[f] if f in special else row.get(_RENAMED.get(f, f)) for f in EXPORT_FIELDS}
