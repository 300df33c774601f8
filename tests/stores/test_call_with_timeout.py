"""`nodes._calls.call_with_timeout` on its shared pool of daemon workers.

(Kept beside the store tests because the pool's threads are where the stores' per-thread
connections live.)
"""

from __future__ import annotations

import contextvars
import threading
import time

import pytest
from langgraph.errors import GraphInterrupt

from safe_agent.nodes import _calls
from safe_agent.nodes._calls import CallTimeout, call_with_timeout

_VAR: contextvars.ContextVar[str] = contextvars.ContextVar("_VAR", default="unset")


def test_returns_the_value_and_reuses_worker_threads() -> None:
    workers = [
        call_with_timeout(threading.current_thread, 5.0) for _ in range(20)
    ]  # kept alive: ids stay unique
    assert call_with_timeout(lambda: 41 + 1, 5.0) == 42
    assert (
        len({id(w) for w in workers}) <= 2
    )  # sequential calls reuse a worker instead of a thread per call
    assert threading.current_thread() not in workers


def test_exceptions_propagate_unchanged() -> None:
    boom = ValueError("bad answer")
    with pytest.raises(ValueError) as caught:
        call_with_timeout(lambda: (_ for _ in ()).throw(boom), 5.0)
    assert caught.value is boom
    interrupt = GraphInterrupt(())

    def raise_interrupt() -> None:
        raise interrupt

    with pytest.raises(GraphInterrupt) as caught_interrupt:
        call_with_timeout(raise_interrupt, 5.0)
    assert caught_interrupt.value is interrupt


def test_own_timeout_error_is_not_mistaken_for_ours() -> None:
    def socket_timeout() -> None:
        raise TimeoutError("read timed out")

    with pytest.raises(TimeoutError, match="read timed out") as caught:
        call_with_timeout(socket_timeout, 5.0)
    assert not isinstance(caught.value, CallTimeout)


def test_caller_context_is_visible_in_the_worker_and_not_leaked_back() -> None:
    token = _VAR.set("caller")
    try:

        def read_and_set() -> str:
            seen = _VAR.get()
            _VAR.set("worker")
            return seen

        assert call_with_timeout(read_and_set, 5.0) == "caller"
        assert _VAR.get() == "caller"
        assert (
            call_with_timeout(_VAR.get, 5.0) == "caller"
        )  # a reused worker does not keep "worker"
    finally:
        _VAR.reset(token)
    assert call_with_timeout(_VAR.get, 5.0) == "unset"


def test_timeout_returns_at_the_deadline_and_the_pool_is_not_starved() -> None:
    release = threading.Event()
    try:
        started = time.perf_counter()
        for _ in range(_calls.MAX_IDLE_WORKERS + 8):  # more stuck calls than the pool keeps
            with pytest.raises(CallTimeout):
                call_with_timeout(lambda: release.wait(30), 0.01)
        assert time.perf_counter() - started < 10
        quick = time.perf_counter()
        assert (
            call_with_timeout(lambda: "fresh", 2.0) == "fresh"
        )  # does not queue behind the stuck ones
        assert time.perf_counter() - quick < 1.0
    finally:
        release.set()


def test_stuck_call_keeps_running_after_the_timeout() -> None:
    finished = threading.Event()

    def slow() -> str:
        time.sleep(0.3)
        finished.set()
        return "late"

    started = time.perf_counter()
    with pytest.raises(CallTimeout):
        call_with_timeout(slow, 0.05)
    assert time.perf_counter() - started < 0.25
    assert finished.wait(5)  # documented: the worker is not killed, only abandoned


def test_workers_are_daemon_threads() -> None:
    assert call_with_timeout(lambda: threading.current_thread().daemon, 5.0) is True
