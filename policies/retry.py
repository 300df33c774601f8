"""Decide which failed model calls are worth retrying, and how long to wait.

Only transient failures are retried: timeouts, lost connections, 429 and 5xx. A 4xx other than
429 means the request itself is wrong (bad key, bad schema), and repeating it only costs money.
"""

from __future__ import annotations

from policies.config import RetryConfig

TRANSIENT_KINDS = frozenset({"timeout", "connection"})


def is_transient(*, kind: str, status_code: int | None) -> bool:
    """Say whether an error of this kind and HTTP status may succeed if tried again."""
    if status_code is not None:
        return status_code == 429 or status_code >= 500
    return kind in TRANSIENT_KINDS


def backoff_delay(*, attempt: int, config: RetryConfig, jitter_fraction: float) -> float:
    """Return the wait before retry number `attempt` (1-based): base × 2^(attempt-1) + jitter."""
    jitter = max(0.0, min(1.0, jitter_fraction)) * config.max_jitter_s
    return config.base_delay_s * (2 ** max(0, attempt - 1)) + jitter
