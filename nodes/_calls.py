"""Run a blocking call with a hard timeout, and describe any failure as plain data."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from langgraph.errors import GraphBubbleUp

T = TypeVar("T")


class CallTimeout(Exception):
    """The call did not finish within its timeout."""


@dataclass(frozen=True, slots=True)
class Failure:
    """What went wrong, in the terms the retry policy and the audit log use."""

    kind: str  # timeout | connection | http | bad_response | error
    status_code: int | None
    message: str


@dataclass(frozen=True, slots=True)
class CallResult(Generic[T]):
    """The value, or the failure; never both."""

    value: T | None = None
    failure: Failure | None = None


def call_with_timeout(fn: Callable[[], T], timeout_s: float) -> T:
    """Run `fn` in a daemon thread and give up after `timeout_s`; a stuck call cannot stall the run."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=target, daemon=True, name="safe-agent-call")
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise CallTimeout(f"no answer within {timeout_s:g}s")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def describe_failure(exc: BaseException) -> Failure:
    """Classify an exception from a model or tool call without importing any provider SDK."""
    if isinstance(exc, GraphBubbleUp):
        raise exc
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    if status is None:
        status = getattr(getattr(exc, "response", None), "status_code", None)
    message = f"{name}: {str(exc)[:300]}"
    if isinstance(exc, (CallTimeout, TimeoutError)) or "Timeout" in name:
        return Failure("timeout", None, message)
    if isinstance(exc, ConnectionError) or "Connection" in name:
        return Failure("connection", None, message)
    if isinstance(status, int) and not 200 <= status < 300:
        return Failure("http", status, message)
    if isinstance(exc, (ValueError, KeyError, TypeError, AttributeError)) or "Decode" in name or "Validation" in name:
        return Failure("bad_response", None, message)
    return Failure("error", None, message)
