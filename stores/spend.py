"""The spend ledger: reservations and settled charges against nested budgets, in one SQLite file.

A model call first *reserves* its worst case; after the call the reservation is *settled* to
what it actually cost and the rest is released. Read, decide and write happen in one
`BEGIN IMMEDIATE` transaction, so of many threads or processes racing for the last dollars of
a budget only as many get through as the budget covers. A reservation whose run crashed expires
after `reservation_ttl_s` and stops counting. The decisions are `policies.budget.check_reservation`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import sqlite_utils

from safe_agent.policies.budget import Committed, check_reservation, spend_windows
from safe_agent.policies.config import BudgetConfig
from safe_agent.policies.verdict import ReasonCode, Verdict, allow, deny
from safe_agent.stores._sqlite import immediate, session

POLICY_STORE = "budget.ledger"

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS spend (
        key TEXT PRIMARY KEY, kind TEXT NOT NULL, run_id TEXT NOT NULL, user_id TEXT NOT NULL, tenant TEXT,
        day TEXT NOT NULL, month TEXT NOT NULL, status TEXT NOT NULL, reserved_usd REAL NOT NULL,
        settled_usd REAL, created_at REAL NOT NULL, expires_at REAL NOT NULL, settled_at REAL)""",  # noqa: E501
    "CREATE INDEX IF NOT EXISTS spend_user_day ON spend (user_id, day)",
    "CREATE INDEX IF NOT EXISTS spend_tenant_day ON spend (tenant, day)",
    "CREATE INDEX IF NOT EXISTS spend_month ON spend (month)",
    "CREATE INDEX IF NOT EXISTS spend_run ON spend (run_id)",
    "CREATE INDEX IF NOT EXISTS spend_live ON spend (status, expires_at)",
)

_HELD = (
    "CASE WHEN status = 'settled' THEN settled_usd WHEN expires_at > :now THEN reserved_usd "
    "ELSE 0 END"
)
"""What a row holds at :now: its settled amount, its live reservation, or nothing once expired."""


@dataclass(frozen=True, slots=True)
class SpendScope:
    """Who pays for a charge: the run, its user and (if any) tenant."""

    run_id: str
    user_id: str
    tenant: str | None = None


@dataclass(frozen=True, slots=True)
class BudgetLine:
    """One budget in a spend report: settled spend, live reservations, the cap and what is left."""

    scope: Literal["user", "tenant", "global"]
    subject: str
    window: str
    spent_usd: float
    reserved_usd: float
    limit_usd: float | None
    remaining_usd: float | None


@dataclass(frozen=True, slots=True)
class SpendReport:
    """Spend and budget left per user (today), tenant (today) and deployment (this month), UTC."""

    day: str
    month: str
    lines: list[BudgetLine] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict (what `safe-agent spend --json` prints)."""
        return asdict(self)


class SpendLedger:
    """Reservations and charges in one SQLite table; safe across threads and processes."""

    def __init__(self, path: str | Path) -> None:
        """Remember the file and create the `spend` table and its indexes if missing."""
        self.path = path
        with session(self.path) as db:
            for statement in _SCHEMA:
                db.execute(statement)

    def _committed(self, db: sqlite_utils.Database, scope: SpendScope, now: float) -> Committed:
        day, month = spend_windows(now)

        def held(where: str, **params: Any) -> float:
            row = db.execute(
                f"SELECT COALESCE(SUM({_HELD}), 0) FROM spend WHERE {where}", {"now": now, **params}
            )
            return float(row.fetchone()[0])

        return Committed(
            run=held("run_id = :run", run=scope.run_id),
            user_day=held("user_id = :user AND day = :day", user=scope.user_id, day=day),
            tenant_day=None
            if scope.tenant is None
            else held("tenant = :tenant AND day = :day", tenant=scope.tenant, day=day),
            global_month=held("month = :month", month=month),
        )

    def reserve(
        self,
        key: str,
        *,
        scope: SpendScope,
        amount_usd: float,
        now: float,
        limits: BudgetConfig,
        kind: str = "model",
        settle: bool = False,
    ) -> Verdict:
        """Hold `amount_usd` against every enclosing budget, atomically, or say which budget cannot.

        Idempotent on `key`: a replayed step finds its live or settled row and is allowed again
        without holding more. A database error denies (fail closed).

        Args:
            key: the reservation id, e.g. "<run_id>:<iteration>" or "<run_id>:tool:<tool_call_id>".
            scope: the run, user and tenant that pay.
            amount_usd: the worst case to hold.
            now: the current time (`services.clock()`); picks the UTC day and month.
            limits: the caller's budget (after `limits_for_role`).
            kind: "model" or "tool", for reports.
            settle: record the amount as spent at once (a fixed-price charge such as a tool call).
        """
        day, month = spend_windows(now)
        try:
            with session(self.path) as db, immediate(db):
                row = db.execute(
                    "SELECT status, expires_at FROM spend WHERE key = ?", [key]
                ).fetchone()
                if row is not None and (row[0] == "settled" or row[1] > now):
                    again = check_reservation(
                        committed=self._committed(db, scope, now),
                        amount_usd=0.0,
                        limits=limits,
                        user_id=scope.user_id,
                        tenant=scope.tenant,
                    )
                    return again if again.allowed else allow(POLICY_STORE, replayed=True)
                db.execute(
                    "DELETE FROM spend WHERE key = ?", [key]
                )  # an expired hold of a replayed step
                db.execute(
                    "UPDATE spend SET status = 'expired' "
                    "WHERE status = 'reserved' AND expires_at <= ?",
                    [now],
                )
                verdict = check_reservation(
                    committed=self._committed(db, scope, now),
                    amount_usd=amount_usd,
                    limits=limits,
                    user_id=scope.user_id,
                    tenant=scope.tenant,
                )
                if verdict.allowed:
                    db.execute(
                        "INSERT INTO spend (key, kind, run_id, user_id, tenant, day, month, "
                        "status, reserved_usd, settled_usd, created_at, expires_at, settled_at) "
                        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        [
                            key,
                            kind,
                            scope.run_id,
                            scope.user_id,
                            scope.tenant,
                            day,
                            month,
                            "settled" if settle else "reserved",
                            amount_usd,
                            amount_usd if settle else None,
                            now,
                            now + limits.reservation_ttl_s,
                            now if settle else None,
                        ],
                    )
                return verdict
        except sqlite3.Error as exc:
            return deny(
                ReasonCode.POLICY_ERROR,
                f"the spend ledger is unavailable ({type(exc).__name__})",
                POLICY_STORE,
            )

    def extend(self, key: str, *, amount_usd: float, now: float, limits: BudgetConfig) -> Verdict:
        """Hold `amount_usd` more on a live reservation (retry after a charged failure), or deny."""
        try:
            with session(self.path) as db, immediate(db):
                row = db.execute(
                    "SELECT run_id, user_id, tenant FROM spend WHERE key = ? "
                    "AND status = 'reserved' AND expires_at > ?",
                    [key, now],
                ).fetchone()
                if row is None:
                    return deny(
                        ReasonCode.POLICY_ERROR,
                        "no live reservation to extend",
                        POLICY_STORE,
                        key=key,
                    )
                scope = SpendScope(*row)
                verdict = check_reservation(
                    committed=self._committed(db, scope, now),
                    amount_usd=amount_usd,
                    limits=limits,
                    user_id=scope.user_id,
                    tenant=scope.tenant,
                )
                if verdict.allowed:
                    db.execute(
                        "UPDATE spend SET reserved_usd = reserved_usd + ?, expires_at = ? "
                        "WHERE key = ?",
                        [amount_usd, now + limits.reservation_ttl_s, key],
                    )
                return verdict
        except sqlite3.Error as exc:
            return deny(
                ReasonCode.POLICY_ERROR,
                f"the spend ledger is unavailable ({type(exc).__name__})",
                POLICY_STORE,
            )

    def settle(
        self, key: str, *, actual_usd: float, now: float, scope: SpendScope, kind: str = "model"
    ) -> float:
        """Record what a reserved step really cost and release the rest; idempotent on `key`.

        A step without a reservation (or whose hold expired) is still recorded: the ledger never
        forgets money that was spent. Returns the amount recorded for `key`.
        """
        day, month = spend_windows(now)
        with session(self.path) as db, immediate(db):
            row = db.execute(
                "SELECT status, settled_usd FROM spend WHERE key = ?", [key]
            ).fetchone()
            if row is not None and row[0] == "settled":
                return float(row[1])
            if row is None:
                db.execute(
                    "INSERT INTO spend (key, kind, run_id, user_id, tenant, day, month, status, "
                    "reserved_usd, settled_usd, created_at, expires_at, settled_at) "
                    "VALUES (?,?,?,?,?,?,?,'settled',0,?,?,?,?)",
                    [
                        key,
                        kind,
                        scope.run_id,
                        scope.user_id,
                        scope.tenant,
                        day,
                        month,
                        actual_usd,
                        now,
                        now,
                        now,
                    ],
                )
            else:
                db.execute(
                    "UPDATE spend SET status = 'settled', settled_usd = ?, settled_at = ? "
                    "WHERE key = ?",
                    [actual_usd, now, key],
                )
            return actual_usd

    def report(
        self, *, user_id: str | None, tenant: str | None, now: float, limits: BudgetConfig
    ) -> SpendReport:
        """Sum settled spend and live reservations per window, in UTC.

        The windows are the user's and the tenant's day and the month.
        """
        day, month = spend_windows(now)
        wanted: list[
            tuple[Literal["user", "tenant", "global"], str, str, str, dict[str, Any], float | None]
        ] = []
        if user_id is not None:
            wanted.append(
                (
                    "user",
                    user_id,
                    day,
                    "user_id = :s AND day = :w",
                    {"s": user_id, "w": day},
                    limits.user_daily_limit_usd,
                )
            )
        if tenant is not None:
            wanted.append(
                (
                    "tenant",
                    tenant,
                    day,
                    "tenant = :s AND day = :w",
                    {"s": tenant, "w": day},
                    limits.tenant_daily_limit_usd,
                )
            )
        wanted.append(
            ("global", "*", month, "month = :w", {"w": month}, limits.global_monthly_limit_usd)
        )
        lines = []
        with session(self.path) as db:
            for scope, subject, window, where, params, limit in wanted:
                spent, reserved = db.execute(
                    "SELECT "
                    "COALESCE(SUM(CASE WHEN status = 'settled' THEN settled_usd ELSE 0 END), 0), "
                    "COALESCE(SUM(CASE WHEN status = 'reserved' AND expires_at > :now "
                    "THEN reserved_usd ELSE 0 END), 0) "
                    f"FROM spend WHERE {where}",
                    {"now": now, **params},
                ).fetchone()
                spent, reserved = round(float(spent), 8), round(float(reserved), 8)
                left = None if limit is None else round(max(0.0, limit - spent - reserved), 8)
                lines.append(BudgetLine(scope, subject, window, spent, reserved, limit, left))
        return SpendReport(day=day, month=month, lines=lines)

    def rows(self, *, run_id: str | None = None) -> list[dict[str, Any]]:
        """Return ledger rows (all, or one run's), oldest first, for tests and incident reviews."""
        where, params = ("run_id = ?", [run_id]) if run_id else (None, [])
        with session(self.path) as db:
            return list(db["spend"].rows_where(where, params, order_by="created_at, key"))
