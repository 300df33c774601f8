"""Timing, memory and concurrency measurements over the systems in `bench.systems`.

Why interleaved: this runs on shared 2-core machines where other work comes and goes. Timing
system (a) for a minute and then (c) for a minute would charge (c) for whatever else ran during
its minute; running a, b, c in turn inside every round spreads that noise evenly over all three.
Each run uses a fresh thread id, so no run reads another run's checkpoints.
"""

from __future__ import annotations

import gc
import math
import statistics
import threading
import time
import traceback
import tracemalloc
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bench.systems import BenchError, SafeAgentSystem, System
from bench.workloads import Workload

LOCKED = "database is locked"


@dataclass
class Timing:
    """Wall-clock times (ms) of whole runs and, for approval workloads, of the resume call alone."""

    runs_ms: list[float] = field(default_factory=list)
    resume_ms: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        """Median whole-run time."""
        return statistics.median(self.runs_ms) if self.runs_ms else math.nan

    @property
    def p95(self) -> float:
        """95th percentile whole-run time (nearest rank)."""
        return percentile(self.runs_ms, 95)

    @property
    def resume_median(self) -> float:
        """Median time of the resume call alone."""
        return statistics.median(self.resume_ms) if self.resume_ms else math.nan

    @property
    def resume_p95(self) -> float:
        """95th percentile time of the resume call alone."""
        return percentile(self.resume_ms, 95)


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: an actual observed value, never an interpolation."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def run_once(system: System, workload: Workload) -> tuple[float, float | None]:
    """Run one complete workload on a new thread; return (total ms, resume ms or None)."""
    thread_id = uuid.uuid4().hex
    started = time.perf_counter()
    paused = system.start(workload, thread_id)
    if not workload.approval:
        if paused:
            raise BenchError(f"{system.key} {workload.key}: paused but no approval was expected")
        return (time.perf_counter() - started) * 1000, None
    if not paused:
        raise BenchError(f"{system.key} {workload.key}: expected to pause for approval")
    resumed = time.perf_counter()
    system.resume(thread_id)
    done = time.perf_counter()
    return (done - started) * 1000, (done - resumed) * 1000


def verify(system: System, workload: Workload) -> None:
    """Run once and check the result, so broken runs are never timed as fast ones."""
    thread_id = uuid.uuid4().hex
    if system.start(workload, thread_id):
        system.resume(thread_id)
    system.check(workload, thread_id)


def time_workload(
    systems: Sequence[System], workload: Workload, runs: int, warmup: int
) -> dict[str, Timing]:
    """Verify, warm up, then time `runs` runs per system, interleaved round by round."""
    for system in systems:
        verify(system, workload)
        for _ in range(warmup):
            run_once(system, workload)
    timings = {s.key: Timing() for s in systems}
    for _ in range(runs):
        for system in systems:
            total, resume = run_once(system, workload)
            timings[system.key].runs_ms.append(total)
            if resume is not None:
                timings[system.key].resume_ms.append(resume)
    return timings


def peak_memory_kib(system: System, workload: Workload, runs: int) -> float:
    """Peak traced Python allocation (KiB) above the starting level over `runs` runs.

    Why tracemalloc and not RSS: all systems share one process, so RSS mostly reflects whatever
    ran before; tracemalloc's peak isolates what these runs allocate at once (all threads).
    """
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        for _ in range(runs):
            run_once(system, workload)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return (peak - base) / 1024


@dataclass
class ConcurrencyResult:
    """Outcome of many runs on one shared system from several threads."""

    runs: int
    threads: int
    seconds: float
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    locked: int = 0
    first_traceback: str = ""
    audit_chain_ok: bool | None = None
    audit_rows: int | None = None

    @property
    def throughput(self) -> float:
        """Completed runs (any outcome) per second of wall time."""
        return self.runs / self.seconds if self.seconds else math.nan

    @property
    def error_count(self) -> int:
        """Runs that raised, plus runs that ended other than answered."""
        return sum(self.errors.values()) + sum(
            n for s, n in self.statuses.items() if s != "answered"
        )


def _run_and_classify(system: System, workload: Workload) -> tuple[str, str]:
    """Run once via the system's public API; return (outcome key, text to scan for lock errors)."""
    if isinstance(system, SafeAgentSystem) and not system.raw:
        out = system.agent.run(workload.request, user_id="bench-user", role="write")
        return (
            out.status if out.status == "answered" else f"{out.status}:{out.reason_code}"
        ), out.answer
    return ("paused" if system.start(workload, uuid.uuid4().hex) else "answered"), ""


def concurrency(
    system: System,
    workload: Workload,
    runs: int,
    threads: int,
    progress: Callable[[int], None] | None = None,
) -> ConcurrencyResult:
    """Run `workload` `runs` times over `threads` threads on ONE system and count what went wrong.

    Nothing is retried or serialised here: if the agent is not thread-safe, the errors (and the
    first traceback) are the finding. A halted run counts as an error too, because a store that
    cannot reach SQLite makes the safety nodes fail closed rather than raise.
    """
    verify(system, workload)
    result = ConcurrencyResult(runs=runs, threads=threads, seconds=0.0)
    guard = threading.Lock()

    def one(_: int) -> None:
        try:
            key, text = _run_and_classify(system, workload)
            with guard:
                result.statuses[key] += 1
                result.locked += LOCKED in text
        except Exception as exc:  # noqa: BLE001 - every failure is counted, not hidden
            with guard:
                result.errors[f"{type(exc).__name__}: {str(exc)[:100]}"] += 1
                result.locked += LOCKED in str(exc)
                if not result.first_traceback:
                    result.first_traceback = "".join(traceback.format_exception(exc)[-6:])
        if progress is not None:
            progress(1)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bench") as pool:
        list(pool.map(one, range(runs)))
    result.seconds = time.perf_counter() - started
    if isinstance(system, SafeAgentSystem):
        check = system.agent.services.audit.verify()
        result.audit_chain_ok, result.audit_rows = check.ok, check.rows
    return result


@dataclass
class GrowthResult:
    """How a run's cost changes as one conversation thread gets longer."""

    turns_ms: list[float]
    checkpoint_mb: float
    audit_events_in_state: int | None

    def head_ms(self, n: int = 5) -> float:
        """Median of the first `n` turns."""
        return statistics.median(self.turns_ms[:n])

    def tail_ms(self, n: int = 5) -> float:
        """Median of the last `n` turns."""
        return statistics.median(self.turns_ms[-n:])


def growth(system: System, workload: Workload, turns: int) -> GrowthResult:
    """Run `workload` `turns` times on ONE thread (a long conversation) on a fresh system.

    Why: every other measurement uses a new thread per run, which hides any per-thread state
    that grows with the conversation and is re-checkpointed at every step.
    """
    thread_id = uuid.uuid4().hex
    turns_ms = []
    for _ in range(turns):
        started = time.perf_counter()
        system.start(workload, thread_id)
        turns_ms.append((time.perf_counter() - started) * 1000)
    size = sum(
        p.stat().st_size
        for p in (
            system.checkpoint_path,
            system.checkpoint_path.with_name(system.checkpoint_path.name + "-wal"),
        )
        if p.exists()
    )
    events = None
    if isinstance(system, SafeAgentSystem):
        values = system.agent.graph.get_state(system.agent._config(thread_id)).values
        events = len(values.get("audit_events", []))
    return GrowthResult(turns_ms, size / 1e6, events)
