"""Operator kill switches, one row per switched-off target, shared by every process."""

from __future__ import annotations

from pathlib import Path

from safe_agent.policies.kill_switch import KillSwitch
from safe_agent.stores._sqlite import immediate, session

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kill_switches (
    target TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_at REAL NOT NULL
)
"""


class KillSwitchStore:
    """The `kill_switches` table in the safety database."""

    def __init__(self, path: str | Path) -> None:
        """Create the table if missing."""
        self.path = str(path)
        with session(self.path) as db:
            db.execute(_SCHEMA)

    def active(self) -> dict[str, KillSwitch]:
        """Return every active switch by target (a tiny table: read whole, once per check)."""
        with session(self.path) as db:
            rows = db.execute("SELECT target, reason, set_by, set_at FROM kill_switches").fetchall()
        return {r[0]: KillSwitch(*r) for r in rows}

    def switch_off(self, target: str, *, reason: str, set_by: str, now: float) -> None:
        """Switch a target off (or update why and by whom)."""
        with session(self.path) as db, immediate(db):
            db.execute(
                "INSERT INTO kill_switches (target, reason, set_by, set_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(target) DO UPDATE SET reason = excluded.reason, "
                "set_by = excluded.set_by, set_at = excluded.set_at",
                [target, reason, set_by, now],
            )

    def switch_on(self, target: str) -> bool:
        """Revive a target; return whether it had been switched off."""
        with session(self.path) as db, immediate(db):
            return db.execute("DELETE FROM kill_switches WHERE target = ?", [target]).rowcount > 0
