"""Turn measurements into the Markdown tables of `python -m bench` (quoted in docs/benchmarks.md).

Why plain Markdown: the numbers go straight into the docs and into review comments, and a
table that renders on GitHub needs no extra tooling.
"""

from __future__ import annotations

import math
import os
import platform
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bench.measure import ConcurrencyResult, GrowthResult, Timing
from bench.workloads import Workload

TARGET_W1_C_OVER_B = 1.0


@dataclass(frozen=True)
class RunInfo:
    """What was run, where, and how loaded the machine was (the numbers mean little without it)."""

    runs: Mapping[str, int]
    warmup: int
    mem_runs: int
    elapsed_s: float
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]


def _ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.1f}"


def _ratio(num: float, den: float) -> str:
    return "n/a" if math.isnan(num) or math.isnan(den) or den == 0 else f"{num / den:.2f}×"


def machine_line() -> str:
    """Describe the machine: cores, CPU, Python, OS."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(
                (ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu
            )
    except OSError:
        pass
    return (
        f"nproc {os.cpu_count()}, {cpu}, Python {platform.python_version()} "
        f"({sys.implementation.name}), {platform.system()} {platform.release()}"
    )


def latency_table(
    workloads: Sequence[Workload],
    labels: Mapping[str, str],
    timings: Mapping[str, Mapping[str, Timing]],
) -> str:
    """One row per workload and system: median and p95 of whole runs and of the resume call only."""
    rows = [
        "| Workload | System | Runs | Median ms | p95 ms | Resume median ms | Resume p95 ms |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for wl in workloads:
        for key, label in labels.items():
            t = timings.get(wl.key, {}).get(key)
            if t is None:
                why = "n/a (no approval feature)" if wl.approval else "n/a"
                rows.append(f"| {wl.key} | {label} | {why} | n/a | n/a | n/a | n/a |")
                continue
            rows.append(
                f"| {wl.key} | {label} | {len(t.runs_ms)} | {_ms(t.median)} | {_ms(t.p95)} | "
                f"{_ms(t.resume_median)} | {_ms(t.resume_p95)} |"
            )
    return "\n".join(rows)


def ratio_table(workloads: Sequence[Workload], timings: Mapping[str, Mapping[str, Timing]]) -> str:
    """Median and p95 ratios of our graph to (a) and to (b); for WA also the resume-only ratio."""
    rows = [
        "| Workload | c/a median | c/b median | c/b p95 | c/b resume median "
        "| c'/b median (every step) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    nan = Timing()
    for wl in workloads:
        t = timings.get(wl.key, {})
        a, b, c, c_step = t.get("a", nan), t.get("b", nan), t.get("c", nan), t.get("c_step", nan)
        rows.append(
            f"| {wl.key} | {_ratio(c.median, a.median)} | {_ratio(c.median, b.median)} | "
            f"{_ratio(c.p95, b.p95)} | {_ratio(c.resume_median, b.resume_median)} | "
            f"{_ratio(c_step.median, b.median)} |"
        )
    return "\n".join(rows)


def memory_table(labels: Mapping[str, str], peaks: Mapping[str, float], runs: int) -> str:
    """tracemalloc peak above baseline while running W1 `runs` times per system."""
    rows = [f"| System | tracemalloc peak over {runs} W1 runs (KiB) |", "|---|---:|"]
    rows += [f"| {labels[k]} | {peaks[k]:.0f} |" for k in labels if k in peaks]
    return "\n".join(rows)


def concurrency_table(results: Sequence[tuple[str, ConcurrencyResult]]) -> str:
    """Throughput and every kind of failure of the multi-threaded W1 runs."""
    rows = [
        '| System | Runs × threads | Wall s | Runs/s | Outcomes | Errors | "database is locked" '
        "| Audit chain |",
        "|---|---:|---:|---:|---|---:|---:|---|",
    ]
    for label, r in results:
        outcomes = ", ".join(f"{k} {n}" for k, n in sorted(r.statuses.items())) or "none"
        chain = (
            "n/a"
            if r.audit_chain_ok is None
            else f"{'ok' if r.audit_chain_ok else 'BROKEN'} ({r.audit_rows} rows)"
        )
        rows.append(
            f"| {label} | {r.runs} × {r.threads} | {r.seconds:.1f} | {r.throughput:.1f} "
            f"| {outcomes} | {r.error_count} | {r.locked} | {chain} |"
        )
    return "\n".join(rows)


def concurrency_errors(results: Sequence[tuple[str, ConcurrencyResult]]) -> str:
    """List the distinct exceptions and the first traceback, if any run raised."""
    parts = []
    for label, r in results:
        for msg, n in r.errors.most_common():
            parts.append(f"- {label}: {n} × `{msg}`")
        if r.first_traceback:
            parts.append(f"\nFirst traceback ({label}):\n\n```\n{r.first_traceback.rstrip()}\n```")
    return "\n".join(parts)


def growth_table(results: Sequence[tuple[str, GrowthResult]]) -> str:
    """First turns against last turns of one long thread, and what the thread left on disk."""
    rows = [
        "| System | Turns | First 5 turns median ms | Last 5 turns median ms "
        "| Audit events kept in state | Checkpoint file MB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, g in results:
        events = "n/a" if g.audit_events_in_state is None else str(g.audit_events_in_state)
        rows.append(
            f"| {label} | {len(g.turns_ms)} | {g.head_ms():.1f} | {g.tail_ms():.1f} | {events} | "
            f"{g.checkpoint_mb:.1f} |"
        )
    return "\n".join(rows)


def verdict_line(timings: Mapping[str, Mapping[str, Timing]]) -> str:
    """State plainly whether the W1 target (our median at most 1.0× (b)) was met."""
    t = timings.get("W1", {})
    if "b" not in t or "c" not in t:
        return "W1 target: not measured."
    ratio = t["c"].median / t["b"].median
    met = "met" if ratio <= TARGET_W1_C_OVER_B else "NOT met"
    return f"W1 target (c median ≤ {TARGET_W1_C_OVER_B:.1f}× b median): {met} ({ratio:.2f}×)."


def render(
    *,
    workloads: Sequence[Workload],
    labels: Mapping[str, str],
    timings: Mapping[str, Mapping[str, Timing]],
    peaks: Mapping[str, float],
    conc: Sequence[tuple[str, ConcurrencyResult]],
    grow: Sequence[tuple[str, GrowthResult]],
    info: RunInfo,
) -> str:
    """Assemble the full Markdown report."""
    load = lambda la: " / ".join(f"{x:.2f}" for x in la)  # noqa: E731
    runs = ", ".join(f"{k} {n}" for k, n in info.runs.items())
    sections = [
        "## Latency per run",
        latency_table(workloads, labels, timings),
        "## Ratios (our graph vs LangChain)",
        ratio_table(workloads, timings),
        verdict_line(timings),
        "## Peak memory",
        memory_table(labels, peaks, info.mem_runs),
    ]
    if conc:
        sections += ["## Concurrency (W1, one agent, one checkpoint file)", concurrency_table(conc)]
        errors = concurrency_errors(conc)
        if errors:
            sections.append(errors)
    if grow:
        sections += ["## One long thread (W1 repeated on the same thread id)", growth_table(grow)]
    sections.append(
        f"Machine: {machine_line()}. Timed runs per system: {runs}; warm-up {info.warmup} per "
        f"workload and system. Load average (1/5/15 min) before {load(info.load_before)}, "
        f"after {load(info.load_after)}. Total {info.elapsed_s:.0f} s."
    )
    return "\n\n".join(sections) + "\n"
