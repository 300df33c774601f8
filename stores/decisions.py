"""The decision ledger: which exact actions were authorised, requested for approval, or approved.

Graph state is writable by anyone who can call `update_state` or send a `Command`, so state is
never proof of a decision (invariant 2). The nodes that decide also write their decision here,
outside the graph, and the node that acts reads it back:

- `decisions` (this module): one row per (thread, tool_call_id, action digest). `authorize`
  writes `allowed` or `requested` (with the rule, expiry and approver role of the request);
  `approval` adds votes and turns a request into `approved` (for an edit: the request becomes
  `superseded` and the edited digest gets its own `approved` row); `execute_tool` runs a call
  only if the digest it recomputes from the arguments it is about to run has an `allowed` or
  `approved` row.
- who each run acts for and who owns each thread: `stores/runs.py`.

A kill switch closes rows as `voided` (with the switch's reason): every open request it covers
when it is thrown (`void_requests`, one transaction, matched on the tool, requester, tenant,
tier and proposing model recorded here), and an allowed or approved call that `execute_tool`
stops (`void`). Voided is final: switching the target back on revives nothing.

Rows are written with INSERT OR IGNORE / guarded UPDATEs, so a replayed node writes nothing new.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from safe_agent.stores._sqlite import immediate, session

DecisionStatus = Literal[
    "allowed",
    "requested",
    "approved",
    "superseded",
    "rejected",
    "expired",
    "responded",
    "abandoned",
    "voided",
]
RUNNABLE: frozenset[str] = frozenset({"allowed", "approved"})

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS decisions (
        thread_id TEXT NOT NULL,
        tool_call_id TEXT NOT NULL,
        digest TEXT NOT NULL,
        tool_name TEXT NOT NULL,
        run_id TEXT NOT NULL,
        requester_id TEXT NOT NULL,
        status TEXT NOT NULL,
        rule_id TEXT,
        approver_role TEXT,
        approver_groups TEXT NOT NULL DEFAULT '[]',
        quorum INTEGER NOT NULL DEFAULT 1,
        expires_at REAL,
        approvals TEXT NOT NULL DEFAULT '[]',
        decided_by TEXT,
        created_at REAL NOT NULL,
        decided_at REAL,
        PRIMARY KEY (thread_id, tool_call_id, digest)
    )
    """,
    "CREATE INDEX IF NOT EXISTS decisions_open ON decisions (thread_id, status)",
)
_ADDED = ("tenant", "tier", "model", "model_provider", "reason")
"""Nullable columns added after the first release (ALTER TABLE on an older file): what a kill
switch is matched on (the requester's tenant, the tool's tier, the proposing model) and why a
row was voided (for `responded`: the guarded reply the model gets in the call's place)."""


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """One decided (or requested) action."""

    thread_id: str
    tool_call_id: str
    digest: str
    tool_name: str
    run_id: str
    requester_id: str
    status: str
    rule_id: str | None
    approver_role: str | None
    approver_groups: tuple[str, ...]
    quorum: int
    expires_at: float | None
    approvals: tuple[str, ...]
    decided_by: str | None
    tenant: str | None = None
    tier: str | None = None
    model: str | None = None
    model_provider: str | None = None
    reason: str | None = None

    @property
    def runnable(self) -> bool:
        """Say whether this record lets the action run."""
        return self.status in RUNNABLE


@dataclass(frozen=True, slots=True)
class OpenRequest:
    """An approval request still waiting for people: who asked and who may answer."""

    thread_id: str
    tool_call_id: str
    digest: str
    tool_name: str
    requester_id: str
    approver_role: str
    approver_groups: tuple[str, ...]
    expires_at: float


_COLUMNS = (
    "thread_id, tool_call_id, digest, tool_name, run_id, requester_id, status, rule_id, "
    "approver_role, approver_groups, quorum, expires_at, approvals, decided_by, tenant, tier, "
    "model, model_provider, reason"
)


def _record(row: tuple[Any, ...] | None) -> DecisionRecord | None:
    if row is None:
        return None
    values = list(row)
    values[9] = tuple(json.loads(values[9] or "[]"))
    values[12] = tuple(json.loads(values[12] or "[]"))
    return DecisionRecord(*values)


_KEY = "thread_id = ? AND tool_call_id = ? AND digest = ?"


def _raw(record: DecisionRecord) -> list[Any]:
    """The record as column values, JSON lists encoded as stored."""
    values: list[Any] = [getattr(record, name) for name in _COLUMNS.split(", ")]
    values[9], values[12] = json.dumps(list(values[9])), json.dumps(list(values[12]))
    return values


def _facts(facts: dict[str, str | None]) -> dict[str, str | None]:
    """Only the match columns (a typo must fail loudly, not be stored)."""
    if not set(facts) <= set(_ADDED[:-1]):
        raise TypeError(f"unknown decision facts: {sorted(facts)}")
    return facts


def _insert(db: Any, row: dict[str, Any]) -> None:
    names = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    db.execute(f"INSERT OR IGNORE INTO decisions ({names}) VALUES ({marks})", list(row.values()))


class DecisionLedger:
    """The `decisions` table in the safety database."""

    def __init__(self, path: str | Path) -> None:
        """Create the tables if missing."""
        self.path = str(path)
        with session(self.path) as db, immediate(db):  # one process at a time adds the columns
            for statement in _SCHEMA:
                db.execute(statement)
            have = {row[1] for row in db.execute("PRAGMA table_info(decisions)").fetchall()}
            for name in _ADDED:
                if name not in have:
                    db.execute(f"ALTER TABLE decisions ADD COLUMN {name} TEXT")

    def record_allowed(
        self,
        *,
        thread_id: str,
        tool_call_id: str,
        digest: str,
        tool_name: str,
        run_id: str,
        requester_id: str,
        now: float,
        **facts: str | None,
    ) -> None:
        """Record that `authorize` allowed this exact action (`facts`: what a switch matches on)."""
        row = {
            "thread_id": thread_id,
            "tool_call_id": tool_call_id,
            "digest": digest,
            "tool_name": tool_name,
            "run_id": run_id,
            "requester_id": requester_id,
            "status": "allowed",
            "created_at": now,
            **_facts(facts),
        }
        with session(self.path) as db, immediate(db):
            _insert(db, row)

    def record_request(
        self,
        *,
        thread_id: str,
        tool_call_id: str,
        digest: str,
        tool_name: str,
        run_id: str,
        requester_id: str,
        rule_id: str,
        approver_role: str,
        approver_groups: Sequence[str],
        quorum: int,
        expires_at: float,
        now: float,
        **facts: str | None,
    ) -> None:
        """Record that `authorize` asked for approval of this exact action, under `rule_id`."""
        row = {
            "thread_id": thread_id,
            "tool_call_id": tool_call_id,
            "digest": digest,
            "tool_name": tool_name,
            "run_id": run_id,
            "requester_id": requester_id,
            "status": "requested",
            "rule_id": rule_id,
            "approver_role": approver_role,
            "approver_groups": json.dumps(list(approver_groups)),
            "quorum": quorum,
            "expires_at": expires_at,
            "created_at": now,
            **_facts(facts),
        }
        with session(self.path) as db, immediate(db):
            _insert(db, row)

    def get(self, *, thread_id: str, tool_call_id: str, digest: str) -> DecisionRecord | None:
        """Return the record of this exact action, if any."""
        with session(self.path) as db:
            row = db.execute(
                f"SELECT {_COLUMNS} FROM decisions WHERE {_KEY}", [thread_id, tool_call_id, digest]
            ).fetchone()
        return _record(row)

    def record_votes(
        self, *, thread_id: str, tool_call_id: str, digest: str, approvals: Sequence[str]
    ) -> bool:
        """Store the distinct approvers so far of a still-open request; False if it is not open."""
        with session(self.path) as db, immediate(db):
            changed = db.execute(
                f"UPDATE decisions SET approvals = ? WHERE {_KEY} AND status = 'requested'",
                [json.dumps(list(approvals)), thread_id, tool_call_id, digest],
            ).rowcount
        return changed > 0

    def record_approved(
        self,
        *,
        request: DecisionRecord,
        digest: str,
        approvals: Sequence[str],
        decided_by: str,
        now: float,
    ) -> bool:
        """Approve an open request (for an edit: approve the edited digest, supersede the request).

        Returns False, writing nothing, unless `request` is still open in the ledger (or this very
        approval was already written by a run that crashed): an approval can only answer a
        request that `authorize` really made.
        """
        changes = {
            "approvals": json.dumps(list(approvals)),
            "decided_by": decided_by,
            "decided_at": now,
        }
        status = "approved" if digest == request.digest else "superseded"
        return self._answer(request, digest, status, "approved", changes, now)

    def record_edited_request(
        self,
        *,
        request: DecisionRecord,
        digest: str,
        rule_id: str,
        approver_role: str,
        approver_groups: Sequence[str],
        quorum: int,
        approvals: Sequence[str],
        now: float,
    ) -> bool:
        """An edit that still needs more approvals: the edited action becomes the open request.

        The old request is superseded (it can no longer be approved); False if it was not open.
        """
        changes = {
            "rule_id": rule_id,
            "approver_role": approver_role,
            "quorum": quorum,
            "approver_groups": json.dumps(list(approver_groups)),
            "approvals": json.dumps(list(approvals)),
            "decided_by": None,
            "decided_at": None,
        }
        return self._answer(request, digest, "superseded", "requested", changes, now)

    def _answer(
        self,
        request: DecisionRecord,
        digest: str,
        old_status: str,
        new_status: str,
        changes: dict[str, Any],
        now: float,
    ) -> bool:
        """Move an open request to `old_status`; an edited digest gets a row in `new_status`."""
        key = [request.thread_id, request.tool_call_id, request.digest]
        with session(self.path) as db, immediate(db):
            moved = db.execute(
                "UPDATE decisions SET status = ?, decided_at = ? "
                f"WHERE {_KEY} AND status = 'requested'",
                [old_status, now, *key],
            ).rowcount
            if not moved:  # not open: fine only if a crashed run already wrote this very answer
                done = db.execute(
                    f"SELECT status FROM decisions WHERE {_KEY}",
                    [request.thread_id, request.tool_call_id, digest],
                ).fetchone()
                return done is not None and done[0] == new_status
            if digest == request.digest:
                sets = ", ".join(f"{name} = ?" for name in changes)
                db.execute(f"UPDATE decisions SET {sets} WHERE {_KEY}", [*changes.values(), *key])
                return True
            row = {
                **dict(zip(_COLUMNS.split(", "), _raw(request), strict=True)),
                **changes,
                "digest": digest,
                "status": new_status,
                "created_at": now,
            }
            _insert(db, row)
        return True

    def close(
        self,
        *,
        thread_id: str,
        tool_call_id: str,
        digest: str,
        status: DecisionStatus,
        decided_by: str | None,
        now: float,
        reason: str | None = None,
    ) -> None:
        """Close an open request (rejected, expired, responded, abandoned): never approvable."""
        with session(self.path) as db, immediate(db):
            db.execute(
                "UPDATE decisions SET status = ?, decided_by = ?, decided_at = ?, reason = ? "
                "WHERE thread_id = ? AND tool_call_id = ? AND digest = ? AND status = 'requested'",
                [status, decided_by, now, reason, thread_id, tool_call_id, digest],
            )

    def open_requests(self, thread_id: str) -> list[OpenRequest]:
        """Return the thread's approval requests still waiting for a decision, oldest first."""
        with session(self.path) as db:
            rows = db.execute(
                "SELECT thread_id, tool_call_id, digest, tool_name, requester_id, approver_role, "
                "approver_groups, expires_at FROM decisions "
                "WHERE thread_id = ? AND status = 'requested' ORDER BY created_at",
                [thread_id],
            ).fetchall()
        return [
            OpenRequest(
                r[0], r[1], r[2], r[3], r[4], r[5] or "admin", tuple(json.loads(r[6])), r[7]
            )
            for r in rows
        ]

    def void_requests(
        self, covers: Callable[[DecisionRecord], bool], *, reason: str, decided_by: str, now: float
    ) -> list[DecisionRecord]:
        """Void every open request `covers` says a kill switch covers, in one transaction.

        Returns the rows voided (as they were before). A request answered meanwhile is no longer
        open and stays as answered: `execute_tool` still stops it while the switch is on.
        """
        with session(self.path) as db, immediate(db):
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM decisions WHERE status = 'requested'"
            ).fetchall()
            hit = [r for r in map(_record, rows) if r is not None and covers(r)]
            for r in hit:
                db.execute(
                    "UPDATE decisions SET status = 'voided', reason = ?, decided_by = ?, "
                    "decided_at = ? "
                    f"WHERE {_KEY} AND status = 'requested'",
                    [reason, decided_by, now, r.thread_id, r.tool_call_id, r.digest],
                )
        return hit

    def void(self, record: DecisionRecord, *, reason: str, decided_by: str, now: float) -> bool:
        """Void one open, allowed or approved row (a switch stopped it); False if it was not."""
        with session(self.path) as db, immediate(db):
            return (
                db.execute(
                    "UPDATE decisions SET status = 'voided', reason = ?, decided_by = ?, "
                    "decided_at = ? "
                    f"WHERE {_KEY} AND status IN ('requested', 'allowed', 'approved')",
                    [reason, decided_by, now, record.thread_id, record.tool_call_id, record.digest],
                ).rowcount
                > 0
            )

    def voided(self, thread_id: str) -> list[DecisionRecord]:
        """Return the thread's voided rows, most recently voided first."""
        with session(self.path) as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM decisions WHERE thread_id = ? AND status = 'voided' "
                "ORDER BY decided_at DESC",
                [thread_id],
            ).fetchall()
        return [r for r in map(_record, rows) if r is not None]
