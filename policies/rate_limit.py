"""Decide whether a user may start another run: a sliding window of requests, limits by role.

The count itself lives in SQLite (`stores.rate_limits`), so every process sees it; this module
only decides, from the count and the oldest request still in the window.
"""

from __future__ import annotations

import math

from safe_agent.policies.config import RateLimitConfig
from safe_agent.policies.verdict import ReasonCode, Verdict, allow, deny, fail_closed


def requests_limit_for(*, config: RateLimitConfig, role: str) -> int | None:
    """Return the runs per window a user of `role` may start (None: unlimited).

    A role the config does not know gets the read limit, the least one, as authorization does.
    """
    if role in ("read", "write", "admin"):
        return getattr(config.requests_limit, role)
    return config.requests_limit.read


@fail_closed("rate_limit")
def check_rate_limit(
    *, used: int, oldest_at: float | None, limit: int | None, window_s: float, now: float
) -> Verdict:
    """Allow one more request if fewer than `limit` were made in the last `window_s` seconds.

    Args:
        used: requests of this user still inside the window.
        oldest_at: when the oldest of those was made (None if there is none).
        limit: requests allowed per window; None means no limit.
        window_s: the window length.
        now: the current time, in the same clock as `oldest_at`.
    """
    if limit is None:
        return allow("rate_limit", limit=None)
    if used < 0 or window_s <= 0:
        raise ValueError("malformed rate-limit count")
    if used >= limit:
        retry_after = window_s if oldest_at is None else max(0.0, oldest_at + window_s - now)
        return deny(
            ReasonCode.RATE_LIMITED,
            f"the rate limit of {limit} requests per {window_s:g} s is reached; "
            f"try again in {math.ceil(retry_after)} s",
            "rate_limit",
            limit=limit,
            observed=used,
            retry_after_s=math.ceil(retry_after),
        )
    return allow("rate_limit", limit=limit, remaining=limit - used - 1)
