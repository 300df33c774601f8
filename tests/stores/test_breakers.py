"""The shared breaker store: state that outlives a run; one probe under thread and process races."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from safe_agent.policies.breaker import BreakerPhase, BreakerState
from safe_agent.policies.config import BreakerConfig
from safe_agent.policies.verdict import Decision, ReasonCode, Verdict
from safe_agent.stores.breakers import BreakerStore

CFG = BreakerConfig(failure_threshold=5, cooldown_s=60.0)
MODEL = "model:openai"
TOOL = "tool:issue_refund"


def _open_breaker(store: BreakerStore, name: str, now: float = 1000.0) -> None:
    for _ in range(CFG.failure_threshold):
        store.record(name, success=False, now=now, config=CFG)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "var" / "breakers.sqlite"


def test_state_outlives_the_store_instance(db_path: Path) -> None:
    _open_breaker(BreakerStore(db_path), MODEL)
    later_run = BreakerStore(db_path)
    assert later_run.get(MODEL) == BreakerState(MODEL, BreakerPhase.OPEN, 5, 1000.0, None)
    verdict, _ = later_run.acquire(MODEL, now=1010.0, config=CFG)
    assert verdict.reason_code is ReasonCode.BREAKER_OPEN
    assert verdict.data["retry_in_s"] == pytest.approx(50.0)


def test_unknown_breaker_is_closed_and_not_stored(db_path: Path) -> None:
    store = BreakerStore(db_path)
    assert store.get(MODEL) == BreakerState(MODEL)
    verdict, _ = store.acquire(MODEL, now=1.0, config=CFG)
    assert verdict.allowed
    assert store.all() == []


def test_breakers_are_independent_and_listed(db_path: Path) -> None:
    store = BreakerStore(db_path)
    _open_breaker(store, TOOL)
    store.record(MODEL, success=False, now=1000.0, config=CFG)
    assert store.acquire(MODEL, now=1001.0, config=CFG)[0].allowed
    assert store.acquire(TOOL, now=1001.0, config=CFG)[0].reason_code is ReasonCode.BREAKER_OPEN
    assert [(s.name, s.phase, s.consecutive_failures) for s in store.all()] == [
        (MODEL, BreakerPhase.CLOSED, 1),
        (TOOL, BreakerPhase.OPEN, 5),
    ]


def test_probe_is_persisted_across_instances_and_success_closes(db_path: Path) -> None:
    a, b = BreakerStore(db_path), BreakerStore(db_path)
    _open_breaker(a, MODEL)
    probe, _ = a.acquire(MODEL, now=1060.0, config=CFG)
    assert probe.data.get("probe") is True
    other, _ = b.acquire(MODEL, now=1061.0, config=CFG)
    assert other.reason_code is ReasonCode.BREAKER_HALF_OPEN_PROBE
    assert b.record(MODEL, success=True, now=1062.0, config=CFG) == BreakerState(MODEL)
    assert a.acquire(MODEL, now=1063.0, config=CFG)[0].allowed


def test_probe_failure_reopens_in_the_file(db_path: Path) -> None:
    store = BreakerStore(db_path)
    _open_breaker(store, MODEL)
    store.acquire(MODEL, now=1060.0, config=CFG)
    store.record(MODEL, success=False, now=1070.0, config=CFG)
    assert BreakerStore(db_path).get(MODEL).opened_at == 1070.0
    assert store.acquire(MODEL, now=1129.0, config=CFG)[0].reason_code is ReasonCode.BREAKER_OPEN


def test_reset_closes_only_the_named_breaker(db_path: Path) -> None:
    store = BreakerStore(db_path)
    _open_breaker(store, MODEL)
    _open_breaker(store, TOOL)
    store.reset(MODEL)
    assert store.get(MODEL) == BreakerState(MODEL)
    assert store.acquire(MODEL, now=1001.0, config=CFG)[0].allowed
    assert store.get(TOOL).phase is BreakerPhase.OPEN


def test_corrupt_row_denies_until_reset(db_path: Path) -> None:
    store = BreakerStore(db_path)
    _open_breaker(store, MODEL)
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE breakers SET phase = 'exploded' WHERE name = ?", [MODEL])
    verdict, _ = store.acquire(MODEL, now=5000.0, config=CFG)
    assert (verdict.decision, verdict.reason_code) == (Decision.DENY, ReasonCode.POLICY_ERROR)
    with pytest.raises(ValueError):
        store.record(MODEL, success=True, now=5000.0, config=CFG)
    store.reset(MODEL)
    assert store.acquire(MODEL, now=5001.0, config=CFG)[0].allowed


def test_database_error_denies_instead_of_raising(db_path: Path) -> None:
    store = BreakerStore(db_path)
    with sqlite3.connect(db_path) as conn:
        conn.execute("DROP TABLE breakers")
    verdict, _ = store.acquire(MODEL, now=1.0, config=CFG)
    assert (verdict.decision, verdict.reason_code) == (Decision.DENY, ReasonCode.POLICY_ERROR)


def _summarise(results: list[Verdict]) -> tuple[int, set[ReasonCode]]:
    probes = sum(1 for v in results if v.allowed and v.data.get("probe") is True)
    return probes, {v.reason_code for v in results if not v.allowed}


def test_eight_threads_race_for_the_probe_and_one_wins(db_path: Path) -> None:
    store = BreakerStore(db_path)
    _open_breaker(store, MODEL)
    barrier = threading.Barrier(8)
    results: list[Verdict] = []
    lock = threading.Lock()

    def call() -> None:
        barrier.wait()
        verdict, _ = store.acquire(MODEL, now=1060.0, config=CFG)
        with lock:
            results.append(verdict)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 8
    assert _summarise(results) == (1, {ReasonCode.BREAKER_HALF_OPEN_PROBE})
    assert store.get(MODEL).probe_started_at == 1060.0


def _race_worker(path: str, barrier: Any, queue: Any) -> None:
    """Run in a spawned process: wait for the others, then try to take the probe."""
    store = BreakerStore(path)
    barrier.wait(timeout=60)
    verdict, _ = store.acquire(MODEL, now=1060.0, config=CFG)
    queue.put(verdict.to_dict())


@pytest.mark.slow
def test_four_processes_race_for_the_probe_and_one_wins(db_path: Path) -> None:
    store = BreakerStore(db_path)
    _open_breaker(store, MODEL)
    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(4), ctx.Queue()
    procs = [
        ctx.Process(target=_race_worker, args=(str(db_path), barrier, queue)) for _ in range(4)
    ]
    for p in procs:
        p.start()
    try:
        raw = [queue.get(timeout=120) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    assert _summarise([Verdict.from_dict(r) for r in raw]) == (
        1,
        {ReasonCode.BREAKER_HALF_OPEN_PROBE},
    )
