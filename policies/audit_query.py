"""What an audit query asks for: filters over audit rows and the report to build from them.

Pure data: `parse_query` turns loose input (CLI options, a caller's dict) into a frozen
`AuditQuery` or a `QueryRefused` naming the first thing wrong in one line, so a bad filter is
never a traceback and never a query that silently matches everything. Times are normalised to
the exact ISO form the audit store writes (UTC, microseconds, `+00:00`), so a range is a plain
string comparison on the indexed-order `timestamp` column. The SQL lives in
`stores.audit_query`; the facade method is `SafeAgent.audit_query`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

Report = Literal["rows", "costs", "denied", "approvals"]
REPORTS: tuple[str, ...] = ("rows", "costs", "denied", "approvals")
DENIED_DECISIONS: tuple[str, ...] = ("deny", "halted")
"""A verdict that refused something, and a run stopped by a safety node (`run_outcome`)."""
REQUEST_KIND, REQUEST_DECISION = "authorization", "ask_approval"
DECISION_KINDS: tuple[str, ...] = ("approval_decision", "approval_expired")


def iso_utc(value: str | float | int) -> str:
    """An epoch (seconds) or ISO-8601 time as the audit store writes it; naive means UTC."""
    if isinstance(value, int | float) or str(value).replace(".", "", 1).isdigit():
        moment = datetime.fromtimestamp(float(value), UTC)
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class AuditQuery(BaseModel):
    """Filters (all optional, combined with AND) and the report kind."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    thread_id: str | None = None
    user_id: str | None = None
    tool: str | None = None
    node: str | None = None
    reason_code: str | None = None
    decision: str | None = Field(None, description="allow, deny, ask_approval, answered, ...")
    success: bool | None = None
    since: str | None = Field(None, description="At or after (epoch or ISO-8601).")
    until: str | None = Field(None, description="Before (epoch or ISO-8601).")
    report: Report = "rows"
    limit: int | None = Field(None, ge=1, le=1_000_000)

    @field_validator("since", "until", mode="before")
    @classmethod
    def _time(cls, value: Any) -> str | None:
        if value is None or value == "":
            return None
        try:
            return iso_utc(value)
        except (ValueError, OverflowError, OSError):
            raise ValueError("not an epoch or ISO-8601 time") from None

    def filters(self) -> dict[str, Any]:
        """The column filters that are set, by audit column name."""
        cols = {
            "thread_id": self.thread_id,
            "user_id": self.user_id,
            "tool_name": self.tool,
            "node": self.node,
            "reason_code": self.reason_code,
            "decision": self.decision,
            "success": None if self.success is None else int(self.success),
        }
        return {k: v for k, v in cols.items() if v is not None}


@dataclass(frozen=True)
class QueryRefused:
    """A query that cannot be run, with the reason in one line."""

    message: str
    reason_code: str = "bad_audit_query"


def parse_query(fields: dict[str, Any]) -> AuditQuery | QueryRefused:
    """Validate loose input; empty strings count as not given. Fails closed on the first error."""
    given = {k: v for k, v in fields.items() if v is not None and v != ""}
    try:
        query = AuditQuery.model_validate(given)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "query"
        return QueryRefused(f"bad audit query: {where}: {first['msg']}")
    if query.since and query.until and query.since >= query.until:
        return QueryRefused(f"bad audit query: since {query.since} is not before until")
    return query
