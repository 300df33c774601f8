"""The breaker's no-write fast path: unchanged states skip the write lock, transitions atomic."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from safe_agent.policies.breaker import BreakerPhase
from safe_agent.policies.config import BreakerConfig
from safe_agent.policies.verdict import ReasonCode, Verdict
from safe_agent.stores._sqlite import session
from safe_agent.stores.breakers import BreakerStore

CFG = BreakerConfig(failure_threshold=5, cooldown_s=60.0)
MODEL = "model:openai"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "var" / "breakers.sqlite"


def _open(store: BreakerStore, now: float = 1000.0) -> None:
    for _ in range(CFG.failure_threshold):
        store.record(MODEL, success=False, now=now, config=CFG)


def _run_in_thread(fn: Any, timeout: float = 5.0) -> tuple[bool, Any]:
    """Run fn; return (finished within timeout, its result)."""
    box: list[Any] = []
    t = threading.Thread(target=lambda: box.append(fn()), daemon=True)
    t.start()
    t.join(timeout)
    return (not t.is_alive(), box[0] if box else None)


class _WriteLockHeld:
    """Hold the file's write lock from another connection, as a busy writer elsewhere would."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)

    def __enter__(self) -> _WriteLockHeld:
        self.conn.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.execute("ROLLBACK")
        self.conn.close()


def test_closed_acquire_and_healthy_success_do_not_need_the_write_lock(db_path: Path) -> None:
    store = BreakerStore(db_path)
    store.record(MODEL, success=False, now=1.0, config=CFG)  # a stored row: closed, 1 failure
    with _WriteLockHeld(db_path):
        done, result = _run_in_thread(lambda: store.acquire(MODEL, now=2.0, config=CFG))
        assert done, "a closed breaker's acquire waited for the write lock"
        assert result[0].allowed
        done, result = _run_in_thread(lambda: store.acquire("tool:never_used", now=2.0, config=CFG))
        assert done and result[0].allowed
        done, result = _run_in_thread(
            lambda: store.record("tool:never_used", success=True, now=2.0, config=CFG)
        )
        assert done, "a success on a healthy breaker waited for the write lock"


def test_open_and_busy_probe_denials_do_not_need_the_write_lock(db_path: Path) -> None:
    store = BreakerStore(db_path)
    _open(store)
    with _WriteLockHeld(db_path):
        done, result = _run_in_thread(lambda: store.acquire(MODEL, now=1010.0, config=CFG))
        assert done and result[0].reason_code is ReasonCode.BREAKER_OPEN
    assert store.acquire(MODEL, now=1060.0, config=CFG)[0].data.get("probe") is True
    with _WriteLockHeld(db_path):
        done, result = _run_in_thread(lambda: store.acquire(MODEL, now=1061.0, config=CFG))
        assert done and result[0].reason_code is ReasonCode.BREAKER_HALF_OPEN_PROBE


def test_no_op_calls_write_nothing(db_path: Path) -> None:
    store = BreakerStore(db_path)
    store.acquire(MODEL, now=1.0, config=CFG)
    store.record(MODEL, success=True, now=2.0, config=CFG)
    assert store.all() == []  # nothing stored for a breaker that never failed
    store.record(MODEL, success=False, now=3.0, config=CFG)
    with session(db_path) as db:
        before = db.execute("SELECT updated_at FROM breakers WHERE name = ?", [MODEL]).fetchone()
    store.acquire(MODEL, now=4.0, config=CFG)
    with session(db_path) as db:
        assert (
            db.execute("SELECT updated_at FROM breakers WHERE name = ?", [MODEL]).fetchone()
            == before
        )
    assert store.record(MODEL, success=True, now=5.0, config=CFG).consecutive_failures == 0
    assert store.get(MODEL).consecutive_failures == 0  # a success after failures is still written


def test_transitions_still_write(db_path: Path) -> None:
    store = BreakerStore(db_path)
    _open(store)
    assert store.get(MODEL).phase is BreakerPhase.OPEN
    store.acquire(MODEL, now=1060.0, config=CFG)
    assert (store.get(MODEL).phase, store.get(MODEL).probe_started_at) == (
        BreakerPhase.HALF_OPEN,
        1060.0,
    )
    store.record(MODEL, success=True, now=1061.0, config=CFG)
    assert store.get(MODEL).phase is BreakerPhase.CLOSED


def _probes(results: list[Verdict]) -> tuple[int, set[ReasonCode]]:
    probes = sum(1 for v in results if v.allowed and v.data.get("probe") is True)
    return probes, {v.reason_code for v in results if not v.allowed}


def test_repeated_thread_races_give_exactly_one_probe_each_time(db_path: Path) -> None:
    """Every racer reads "open, cooled down" on the fast path; only one may win under the lock."""
    store = BreakerStore(db_path)
    for round_ in range(10):
        now = 1000.0 + round_ * 1000
        _open(store, now=now)
        barrier = threading.Barrier(8)
        results: list[Verdict] = []
        lock = threading.Lock()

        def call(at: float = now + 60) -> None:
            barrier.wait()
            verdict, _ = store.acquire(MODEL, now=at, config=CFG)
            with lock:
                results.append(verdict)

        threads = [threading.Thread(target=call) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert len(results) == 8
        assert _probes(results) == (1, {ReasonCode.BREAKER_HALF_OPEN_PROBE}), f"round {round_}"
        store.record(MODEL, success=False, now=now + 61, config=CFG)  # the probe fails: re-open
        store.reset(MODEL)


def test_concurrent_failures_are_all_counted(db_path: Path) -> None:
    store = BreakerStore(db_path)
    big = BreakerConfig(failure_threshold=1000, cooldown_s=60.0)
    barrier = threading.Barrier(8)

    def fail() -> None:
        barrier.wait()
        for _ in range(5):
            store.record(MODEL, success=False, now=1.0, config=big)

    threads = [threading.Thread(target=fail) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert store.get(MODEL).consecutive_failures == 40


def _fork_racer(path: str, barrier: Any, queue: Any) -> None:
    store = BreakerStore(path)  # uses the cached connection machinery in a forked child
    barrier.wait(timeout=60)
    verdict, _ = store.acquire(MODEL, now=1060.0, config=CFG)
    queue.put(verdict.to_dict())


@pytest.mark.slow
@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_forked_processes_race_for_the_probe_and_one_wins(db_path: Path) -> None:
    """Forked after the parent cached its connection: children must not reuse it, and one wins."""
    store = BreakerStore(db_path)
    _open(store)
    assert store.acquire(MODEL, now=1001.0, config=CFG)[0].reason_code is ReasonCode.BREAKER_OPEN
    ctx = multiprocessing.get_context("fork")
    barrier, queue = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_fork_racer, args=(str(db_path), barrier, queue)) for _ in range(4)]
    for p in procs:
        p.start()
    try:
        raw = [queue.get(timeout=120) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    assert _probes([Verdict.from_dict(r) for r in raw]) == (1, {ReasonCode.BREAKER_HALF_OPEN_PROBE})
    assert store.get(MODEL).probe_started_at == 1060.0  # the parent's cached connection sees it
