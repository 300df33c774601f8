"""Answers of read-only model turns, reused for identical turns (`[routing] cache_ttl_s`).

The cache is off by default.

A turn is only cached, and only served, when nothing in it can change anything: every tool the
run has used since the user's message is read-only, and so is every call the reply proposes. The
key covers the principal (user, role, tenant), the tool set with its policies, the whole config
(any policy change is a new key), the model and the full prompt, so one caller's answer is never
served to another, and a changed policy never serves an old answer.
"""

from __future__ import annotations

import json
from pathlib import Path

from safe_agent.stores._sqlite import immediate, session

_SCHEMA = """
CREATE TABLE IF NOT EXISTS response_cache (
    key TEXT PRIMARY KEY,
    reply TEXT NOT NULL,
    created_at REAL NOT NULL
)
"""


class ResponseCache:
    """The `response_cache` table in the safety database, shared by every process."""

    def __init__(self, path: str | Path) -> None:
        """Create the table if missing."""
        self.path = str(path)
        with session(self.path) as db:
            db.execute(_SCHEMA)

    def get(self, key: str, *, now: float, ttl_s: float) -> dict | None:
        """Return the stored reply for `key` if it is younger than `ttl_s`, else None."""
        with session(self.path) as db:
            row = db.execute(
                "SELECT reply, created_at FROM response_cache WHERE key = ?", [key]
            ).fetchone()
        if row is None or now - float(row[1]) > ttl_s:
            return None
        try:
            reply = json.loads(row[0])
        except ValueError:
            return None  # a damaged entry is a miss, never an answer
        return reply if isinstance(reply, dict) else None

    def put(self, key: str, reply: dict, *, now: float, ttl_s: float) -> None:
        """Store a reply under `key`, dropping entries older than `ttl_s` on the way."""
        with session(self.path) as db, immediate(db):
            db.execute("DELETE FROM response_cache WHERE created_at < ?", [now - ttl_s])
            db.execute(
                "INSERT OR REPLACE INTO response_cache (key, reply, created_at) VALUES (?, ?, ?)",
                [key, json.dumps(reply, sort_keys=True, default=str), now],
            )
