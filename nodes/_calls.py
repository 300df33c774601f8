"""Run a blocking call with a hard timeout, and describe any failure as plain data."""

from __future__ import annotations

import contextvars
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Generic, TypeVar

from langgraph.errors import GraphBubbleUp

from safe_agent.policies.retry import parse_retry_after

T = TypeVar("T")


class CallTimeout(Exception):
    """The call did not finish within its timeout."""


@dataclass(frozen=True, slots=True)
class Failure:
    """What went wrong, in the terms the retry policy and the audit log use."""

    kind: str  # timeout | connection | http | bad_response | error
    status_code: int | None
    message: str
    retry_after_s: float | None = None
    """The provider's `Retry-After`, in seconds, when it sent one."""


@dataclass(frozen=True, slots=True)
class CallResult(Generic[T]):
    """The value, or the failure; never both."""

    value: T | None = None
    failure: Failure | None = None


MAX_IDLE_WORKERS = (
    32  # threads kept for reuse; a burst beyond this gets extra threads, never a queue
)
IDLE_WORKER_TTL_S = 120.0  # an idle worker this old exits (it is re-created on demand)


class _Worker:
    """One daemon thread that runs calls handed to it, then waits for the next one."""

    __slots__ = ("inbox", "pool")

    def __init__(self, pool: _CallPool) -> None:
        self.pool = pool
        self.inbox: queue.SimpleQueue[_Job] = queue.SimpleQueue()

    def loop(self, job: _Job) -> None:
        while True:
            future, context, fn = job
            del job
            outcome = _execute(future, context, fn)
            # Park before waking the caller, so its next call finds this thread idle.
            parked = self.pool.park(self)
            _deliver(future, outcome)
            del future, context, fn, outcome  # do not keep the last call's objects alive while idle
            if not parked:
                return
            try:
                job = self.inbox.get(timeout=IDLE_WORKER_TTL_S)
            except queue.Empty:
                if self.pool.retire(self):
                    return
                job = self.inbox.get()  # a caller took us just as we timed out: its job is coming


_Job = tuple[Future, contextvars.Context, Callable[[], object]]


def _execute(
    future: Future, context: contextvars.Context, fn: Callable[[], object]
) -> tuple[bool, object] | None:
    """Run `fn` in `context`; return (True, value) or (False, exception), or None if cancelled."""
    if not future.set_running_or_notify_cancel():
        return None
    try:
        return True, context.run(fn)
    except BaseException as exc:  # noqa: BLE001 - handed back to the caller's thread
        return False, exc


def _deliver(future: Future, outcome: tuple[bool, object] | None) -> None:
    if outcome is None:
        return
    ok, value = outcome
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)  # type: ignore[arg-type]


class _CallPool:
    """A shared pool of daemon threads with futures (a ThreadPoolExecutor without its two hazards).

    `concurrent.futures.ThreadPoolExecutor` is not used because (1) its workers are joined at
    interpreter exit, so one hung call would block shutdown forever, and (2) once all its workers
    are busy it queues work, so a few stuck calls would make later calls time out before they
    even start. Here workers are daemon threads, and a call that finds no idle worker gets a new
    thread at once; at most `MAX_IDLE_WORKERS` idle ones are kept for reuse.
    """

    def __init__(self, max_idle: int) -> None:
        self.max_idle = max_idle
        self.pid = os.getpid()
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []  # a stack: the most recently used (warmest) thread first

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        """Run `fn` on a worker in the caller's contextvars context.

        That context carries LangChain callbacks and tracing.
        """
        job: _Job = (Future(), contextvars.copy_context(), fn)
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        if worker is not None:
            worker.inbox.put(job)
        else:
            worker = _Worker(self)
            threading.Thread(
                target=worker.loop, args=(job,), daemon=True, name="safe-agent-call"
            ).start()
        return job[0]

    def park(self, worker: _Worker) -> bool:
        """Offer a worker that finished its call; False means there are enough idle ones: exit."""
        with self._lock:
            if len(self._idle) >= self.max_idle:
                return False
            self._idle.append(worker)
            return True

    def retire(self, worker: _Worker) -> bool:
        """Remove an idle worker that timed out; False if a caller has just taken it."""
        with self._lock:
            if worker in self._idle:
                self._idle.remove(worker)
                return True
            return False


_pool: _CallPool | None = None
_pool_lock = threading.Lock()


def _get_pool() -> _CallPool:
    """The process's pool, created on first use (and again in a forked child).

    Threads do not survive fork.
    """
    global _pool
    pool = _pool
    if pool is None or pool.pid != os.getpid():
        with _pool_lock:
            if _pool is None or _pool.pid != os.getpid():
                _pool = _CallPool(MAX_IDLE_WORKERS)
            pool = _pool
    return pool


def call_with_timeout(fn: Callable[[], T], timeout_s: float) -> T:
    """Run `fn` on a shared worker and give up after `timeout_s`; a stuck call cannot stall the run.

    `fn` runs in a copy of the caller's contextvars context, so LangChain callbacks and tracing
    see the same parent run as in the caller's thread. Its exceptions are re-raised unchanged
    (including langgraph's GraphBubbleUp). On timeout the caller gets `CallTimeout` at once, but
    the call itself cannot be killed: its worker keeps running until `fn` returns, its result is
    dropped, and only then does the worker return to the pool. Other calls never wait for it.
    """
    future = _get_pool().submit(fn)
    try:
        return future.result(timeout_s)
    except FutureTimeout:
        if future.done() and not future.cancelled():
            return (
                future.result()
            )  # finished in the instant after the deadline (or raised its own TimeoutError)
        raise CallTimeout(f"no answer within {timeout_s:g}s") from None


def describe_failure(exc: BaseException) -> Failure:
    """Classify an exception from a model or tool call without importing any provider SDK."""
    if isinstance(exc, GraphBubbleUp):
        raise exc
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    if status is None:
        status = getattr(getattr(exc, "response", None), "status_code", None)
    message = f"{name}: {str(exc)[:300]}"
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    retry_after = parse_retry_after(headers.get("retry-after") if hasattr(headers, "get") else None)
    if retry_after is None:
        retry_after = parse_retry_after(getattr(exc, "retry_after_s", None))
    if isinstance(exc, (CallTimeout, TimeoutError)) or "Timeout" in name:
        return Failure("timeout", None, message)
    if isinstance(exc, ConnectionError) or "Connection" in name:
        return Failure("connection", None, message)
    if isinstance(status, int) and not 200 <= status < 300:
        return Failure("http", status, message, retry_after)
    if (
        isinstance(exc, (ValueError, KeyError, TypeError, AttributeError))
        or "Decode" in name
        or "Validation" in name
    ):
        return Failure("bad_response", None, message)
    return Failure("error", None, message)
