"""Audit queries for operators: `SafeAgent.audit_query` and `safe-agent audit query`.

`run` validates the filters (`policies.audit_query.parse_query`; a bad one is `InvalidInput`,
one line) and runs the report's read-only SQL (`stores.audit_query`). `render_csv` and
`render_text` shape a result for the CLI. Nothing here opens the graph or the checkpointer, so
the CLI answers without loading LangGraph; the store modules are imported when a query runs.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safe_agent.errors import InvalidInput

if TYPE_CHECKING:
    from safe_agent.policies.audit_query import AuditQuery

Result = list[dict[str, Any]] | dict[str, list[dict[str, Any]]]
"""Rows for rows/denied/approvals; `{"by_user": [...], "by_tool": [...], "by_day": [...]}`."""


def parse(query: AuditQuery | Mapping[str, Any]) -> AuditQuery:
    """An `AuditQuery`, or InvalidInput naming the first bad filter."""
    from safe_agent.policies.audit_query import AuditQuery, QueryRefused, parse_query

    if isinstance(query, AuditQuery):
        return query
    parsed = parse_query(dict(query))
    if isinstance(parsed, QueryRefused):
        raise InvalidInput(parsed.message)
    return parsed


def run(audit_path: str | Path, query: AuditQuery | Mapping[str, Any]) -> Result:
    """Run the query's report over the audit file at `audit_path` (read-only)."""
    from safe_agent.stores import audit_query as store
    from safe_agent.stores.audit_rows import export_record

    q = parse(query)
    if q.report == "rows":
        return [export_record(r) for r in store.rows(audit_path, q)]
    if q.report == "denied":
        return store.denied(audit_path, q)
    if q.report == "approvals":
        return store.approvals(audit_path, q)
    return store.costs(audit_path, q)


def flat(result: Result) -> list[dict[str, Any]]:
    """One table: the costs groups stacked with a `group` column (user, tool, day)."""
    if isinstance(result, dict):
        return [
            {"group": k.removeprefix("by_"), **row} for k, rows in result.items() for row in rows
        ]
    return result


def _cell(value: Any) -> Any:
    return (
        json.dumps(value, sort_keys=True, default=str) if isinstance(value, dict | list) else value
    )


def render_csv(result: Result) -> str:
    """CSV with a header row; nested values (tool arguments) as JSON text."""
    table = flat(result)
    out = io.StringIO()
    if table:
        writer = csv.DictWriter(out, fieldnames=list(table[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: _cell(v) for k, v in row.items()} for row in table)
    return out.getvalue()


def render_text(result: Result) -> str:
    """One line per row, `key=value` for the fields that are set; `(none)` when nothing matched."""
    lines = [
        "  ".join(f"{k}={_cell(v)}" for k, v in row.items() if v not in (None, "", [], {}))
        for row in flat(result)
    ]
    return "\n".join(lines) or "(none)"
