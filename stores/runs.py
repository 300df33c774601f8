"""Who each run acts for, and who owns each thread, outside the graph state.

`validate_input` writes the requester of every run it starts, from the authenticated identity;
`authorize`, `approval` and `execute_tool` read the requester from here, never from
`state["principal"]` (anyone who can write state can change that). The first principal to run
on a thread owns it. Rows are INSERT OR IGNORE: a replayed node writes nothing new.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from safe_agent.stores._sqlite import immediate, session

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS run_principals (
        thread_id TEXT NOT NULL,
        run_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        role TEXT NOT NULL,
        tenant TEXT,
        groups TEXT NOT NULL DEFAULT '[]',
        started_at REAL NOT NULL,
        PRIMARY KEY (thread_id, run_id)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS thread_owners (
        thread_id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        tenant TEXT,
        created_at REAL NOT NULL
    )
    """,
)


@dataclass(frozen=True, slots=True)
class RunPrincipal:
    """The requester of one run, as authenticated when the run started."""

    user_id: str
    role: str
    tenant: str | None
    groups: tuple[str, ...]


class RunLedger:
    """The `run_principals` and `thread_owners` tables in the safety database."""

    def __init__(self, path: str | Path) -> None:
        """Create the tables if missing."""
        self.path = str(path)
        with session(self.path) as db:
            for statement in _SCHEMA:
                db.execute(statement)

    def start_run(
        self,
        *,
        thread_id: str,
        run_id: str,
        principal: RunPrincipal,
        now: float,
    ) -> None:
        """Record the run's requester; a thread's first run also makes its requester the owner."""
        with session(self.path) as db, immediate(db):
            db.execute(
                "INSERT OR IGNORE INTO run_principals "
                "(thread_id, run_id, user_id, role, tenant, groups, started_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    thread_id,
                    run_id,
                    principal.user_id,
                    principal.role,
                    principal.tenant,
                    json.dumps(list(principal.groups)),
                    now,
                ],
            )
            db.execute(
                "INSERT OR IGNORE INTO thread_owners (thread_id, user_id, tenant, created_at) "
                "VALUES (?, ?, ?, ?)",
                [thread_id, principal.user_id, principal.tenant, now],
            )

    def run_principal(self, *, thread_id: str, run_id: str) -> RunPrincipal | None:
        """Return the requester recorded for this run, or None (no such run: state was forged)."""
        with session(self.path) as db:
            row = db.execute(
                "SELECT user_id, role, tenant, groups FROM run_principals "
                "WHERE thread_id = ? AND run_id = ?",
                [thread_id, run_id],
            ).fetchone()
        if row is None:
            return None
        return RunPrincipal(row[0], row[1], row[2], tuple(json.loads(row[3] or "[]")))

    def thread_owner(self, thread_id: str) -> str | None:
        """Return the id of the thread's owner, or None for a thread nobody has run on."""
        with session(self.path) as db:
            row = db.execute(
                "SELECT user_id FROM thread_owners WHERE thread_id = ?", [thread_id]
            ).fetchone()
        return row[0] if row else None
