"""Read-only SQL over the audit table for `safe-agent audit query` (`policies.audit_query`).

The file is opened `mode=ro`: a query can never create, migrate or lock the log for writing.
Every value reaches SQLite as a parameter; only column names from the fixed filter map of
`AuditQuery.filters` are written into the SQL. A thread filter uses the existing
`thread_id` index; time ranges compare the ISO `timestamp` text, which the store writes in one
sortable form. Rows come back oldest first; wait times are computed here in seconds.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from safe_agent.policies.audit_query import (
    DECISION_KINDS,
    DENIED_DECISIONS,
    REQUEST_DECISION,
    REQUEST_KIND,
    AuditQuery,
)
from safe_agent.stores._sqlite import BUSY_TIMEOUT_MS
from safe_agent.stores.audit import AuditMissing
from safe_agent.stores.audit_rows import TABLE

DENIED_FIELDS = (
    "seq",
    "timestamp",
    "user_id",
    "thread_id",
    "node",
    "kind",
    "decision",
    "reason_code",
    "tool_name",
    "detail",
)
APPROVAL_FIELDS = (
    "thread_id",
    "tool_call_id",
    "tool_name",
    "requester_id",
    "requested_at",
    "decision_kind",
    "outcome",
    "reason_code",
    "approver_id",
    "decided_at",
    "wait_s",
)


@contextmanager
def _read_only(path: str | Path) -> Iterator[sqlite3.Connection]:
    file = Path(path)
    if not file.exists():
        raise AuditMissing(f"audit log missing: {file} does not exist")
    conn = sqlite3.connect(
        f"{file.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000
    )
    conn.row_factory = sqlite3.Row
    try:
        if (
            conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [TABLE]
            ).fetchone()
            is None
        ):
            raise AuditMissing(f"audit log {file} has no {TABLE} table (dropped)")
        yield conn
    finally:
        conn.close()


def _where(q: AuditQuery, alias: str = "") -> tuple[list[str], list[Any]]:
    """The AND-ed clauses and their parameters for the query's filters on table `alias`."""
    pre = f"{alias}." if alias else ""
    clauses = [f"{pre}{col} = ?" for col in q.filters()]
    params: list[Any] = list(q.filters().values())
    for bound, op in ((q.since, ">="), (q.until, "<")):
        if bound is not None:
            clauses.append(f"{pre}timestamp {op} ?")
            params.append(bound)
    return clauses, params


def _sql(clauses: list[str]) -> str:
    return (" WHERE " + " AND ".join(clauses)) if clauses else ""


def _limited(sql: str, params: list[Any], q: AuditQuery, order: str) -> tuple[str, list[Any]]:
    """The last `limit` rows (all without one), still returned oldest first."""
    if q.limit is None:
        return f"{sql} ORDER BY {order}", params
    return f"SELECT * FROM ({sql} ORDER BY {order} DESC LIMIT ?) ORDER BY {order}", [
        *params,
        q.limit,
    ]


def rows(path: str | Path, q: AuditQuery) -> list[dict[str, Any]]:
    """Matching rows, decoded as `AuditLog.records` decodes them."""
    clauses, params = _where(q)
    sql, params = _limited(f"SELECT * FROM {TABLE}{_sql(clauses)}", params, q, "seq")
    with _read_only(path) as conn:
        found = [dict(r) for r in conn.execute(sql, params)]
    for row in found:
        row["input"] = json.loads(row["input"]) if row.get("input") else None
        row["redacted_paths"] = json.loads(row.get("redacted_paths") or "[]")
        row["success"] = None if row["success"] is None else bool(row["success"])
    return found


def denied(path: str | Path, q: AuditQuery) -> list[dict[str, Any]]:
    """Refused verdicts and halted runs: who, what, when and why."""
    clauses, params = _where(q)
    marks = ",".join("?" for _ in DENIED_DECISIONS)
    clauses.append(f"decision IN ({marks})")
    sql = f"SELECT {', '.join(DENIED_FIELDS)} FROM {TABLE}{_sql(clauses)}"
    sql, params = _limited(sql, [*params, *DENIED_DECISIONS], q, "seq")
    with _read_only(path) as conn:
        return [dict(r) for r in conn.execute(sql, params)]


def costs(path: str | Path, q: AuditQuery) -> dict[str, list[dict[str, Any]]]:
    """Summed `cost_usd` by user, by tool (`""` for model calls) and by UTC day."""
    clauses, params = _where(q)
    clauses.append("cost_usd > 0")
    keys = {
        "user": "COALESCE(user_id, '')",
        "tool": "COALESCE(tool_name, '')",
        "day": "substr(timestamp, 1, 10)",
    }
    out: dict[str, list[dict[str, Any]]] = {}
    with _read_only(path) as conn:
        for name, key in keys.items():
            sql = (
                f"SELECT {key} AS key, ROUND(SUM(cost_usd), 8) AS cost_usd, COUNT(*) AS rows "
                f"FROM {TABLE}{_sql(clauses)} GROUP BY {key} ORDER BY {key}"
            )
            out[f"by_{name}"] = [dict(r) for r in conn.execute(sql, params)]
    return out


def approvals(path: str | Path, q: AuditQuery) -> list[dict[str, Any]]:
    """Each approval request with each decision on it (none yet: one row, undecided).

    The request is the `authorization` row that asked for approval; decisions are the later
    `approval_decision` / `approval_expired` rows for the same thread and tool call. Filters
    apply to the request (`user_id` is the requester).
    """
    clauses, params = _where(q, "r")
    clauses += ["r.kind = ?", "r.decision = ?"]
    kinds = ",".join("?" for _ in DECISION_KINDS)
    params = [*DECISION_KINDS, *params, REQUEST_KIND, REQUEST_DECISION]  # in placeholder order
    sql = (
        "SELECT r.thread_id, r.tool_call_id, r.tool_name, r.user_id AS requester_id, "
        "r.timestamp AS requested_at, d.kind AS decision_kind, "
        "json_extract(d.input, '$.outcome') AS outcome, d.reason_code, d.approver_id, "
        f"d.timestamp AS decided_at FROM {TABLE} r LEFT JOIN {TABLE} d "
        "ON d.thread_id = r.thread_id AND d.tool_call_id = r.tool_call_id "
        f"AND d.seq > r.seq AND d.kind IN ({kinds}){_sql(clauses)} ORDER BY r.seq, d.seq"
    )
    with _read_only(path) as conn:
        found = [dict(r) for r in conn.execute(sql, params)]
    for row in found:
        row["wait_s"] = (
            round(
                (
                    datetime.fromisoformat(row["decided_at"])
                    - datetime.fromisoformat(row["requested_at"])
                ).total_seconds(),
                6,
            )
            if row["decided_at"]
            else None
        )
    return found[-q.limit :] if q.limit else found
