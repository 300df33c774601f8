"""Per-user request rate limits that hold across processes: a sliding-window log in SQLite.

Each allowed request is one row (bucket, hit id, time). Counting, deciding and recording happen
in one `BEGIN IMMEDIATE` transaction, so two processes cannot both take the last slot. Refused
requests are not recorded: a user who keeps knocking is not locked out for longer.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from safe_agent.policies.rate_limit import check_rate_limit
from safe_agent.policies.verdict import ReasonCode, Verdict, allow, deny
from safe_agent.stores._sqlite import immediate, session

POLICY_STORE = "rate_limit.store"

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS rate_hits (bucket TEXT NOT NULL, hit_id TEXT NOT NULL, "
    "at REAL NOT NULL, PRIMARY KEY (bucket, hit_id))",
    "CREATE INDEX IF NOT EXISTS rate_hits_bucket_at ON rate_hits (bucket, at)",
)


class RateLimitStore:
    """Sliding-window request counts in one SQLite file, shared by every process."""

    def __init__(self, path: str | Path) -> None:
        """Remember the file and create the `rate_hits` table if missing."""
        self.path = path
        with session(self.path) as db:
            for statement in _SCHEMA:
                db.execute(statement)

    def hit(
        self, bucket: str, *, hit_id: str, limit: int | None, window_s: float, now: float
    ) -> Verdict:
        """Count one request in `bucket` if the limit allows it, atomically; idempotent on `hit_id`.

        Args:
            bucket: whose requests are counted, e.g. "user:u-123".
            hit_id: the request's id (the run id), so a replayed check does not count twice.
            limit: requests per window; None means unlimited (nothing is recorded).
            window_s: the sliding window in seconds.
            now: the current time (`services.clock()`).
        """
        if limit is None:
            return allow("rate_limit", limit=None)
        try:
            with session(self.path) as db, immediate(db):
                if db.execute(
                    "SELECT 1 FROM rate_hits WHERE bucket = ? AND hit_id = ?", [bucket, hit_id]
                ).fetchone():
                    return allow("rate_limit", limit=limit, replayed=True)
                db.execute(
                    "DELETE FROM rate_hits WHERE bucket = ? AND at <= ?", [bucket, now - window_s]
                )
                used, oldest = db.execute(
                    "SELECT count(*), min(at) FROM rate_hits WHERE bucket = ?", [bucket]
                ).fetchone()
                verdict = check_rate_limit(
                    used=used, oldest_at=oldest, limit=limit, window_s=window_s, now=now
                )
                if verdict.allowed:
                    db.execute(
                        "INSERT INTO rate_hits (bucket, hit_id, at) VALUES (?, ?, ?)",
                        [bucket, hit_id, now],
                    )
                return verdict
        except sqlite3.Error as exc:
            return deny(
                ReasonCode.POLICY_ERROR,
                f"the rate-limit store is unavailable ({type(exc).__name__})",
                POLICY_STORE,
            )
