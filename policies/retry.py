"""Decide which failed model calls are worth retrying, and how long to wait.

Only transient failures are retried: timeouts, lost connections, 429 and 5xx. A 4xx other than
429 means the request itself is wrong (bad key, bad schema), and repeating it only costs money.
"""

from __future__ import annotations

from safe_agent.policies.config import RetryConfig

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


def retry_wait(
    *,
    attempt: int,
    config: RetryConfig,
    jitter_fraction: float,
    retry_after_s: float | None = None,
) -> float | None:
    """Return how long to wait before retry number `attempt`, or None if the retry must not go.

    A provider's `Retry-After` wins over the backoff when it asks for longer (a server that says
    "come back in 5 s" is not helped by a retry in 1 s), up to `max_retry_after_s`; a longer
    request means the dependency is out for longer than a caller should wait, so it is not
    retried at all.
    """
    backoff = backoff_delay(attempt=attempt, config=config, jitter_fraction=jitter_fraction)
    if retry_after_s is None or retry_after_s != retry_after_s or retry_after_s < 0:
        return backoff
    if retry_after_s > config.max_retry_after_s:
        return None
    return max(backoff, float(retry_after_s))


def parse_retry_after(value: object) -> float | None:
    """Read a `Retry-After` header value in seconds (delta-seconds only; a date is ignored)."""
    if value is None:
        return None
    try:
        seconds = float(str(value).strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 and seconds == seconds and seconds != float("inf") else None
