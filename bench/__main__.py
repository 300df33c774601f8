"""`python -m bench`: time W1, W5 and WA through (a), (b), (c) in one process, then print Markdown.

Why one process and one run: comparing numbers from different processes (or days) mixes in
import state, CPU frequency and machine load; here every system is built side by side, warmed
up, and timed in interleaved rounds. Progress goes to stderr so stdout is only the report.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.measure import (
    ConcurrencyResult,
    GrowthResult,
    Timing,
    concurrency,
    growth,
    peak_memory_kib,
    time_workload,
)
from bench.report import RunInfo, render
from bench.systems import (
    BenchError,
    LangChainSystem,
    SafeAgentSystem,
    System,
    build_systems,
    middleware_stack,
)
from bench.workloads import W1, WORKLOADS


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read run counts; the defaults keep a full run under about three minutes on two cores."""
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument(
        "--w1-runs", type=int, default=200, help="timed W1 runs per system (default 200)"
    )
    p.add_argument("--w5-runs", type=int, default=40, help="timed W5 runs per system (default 40)")
    p.add_argument("--wa-runs", type=int, default=40, help="timed WA runs per system (default 40)")
    p.add_argument(
        "--warmup", type=int, default=10, help="untimed runs per workload and system (default 10)"
    )
    p.add_argument(
        "--mem-runs", type=int, default=20, help="W1 runs traced for peak memory (default 20)"
    )
    p.add_argument(
        "--concurrency-runs",
        type=int,
        default=1000,
        help="W1 runs in the threaded test (default 1000)",
    )
    p.add_argument(
        "--threads", type=int, default=8, help="threads in the threaded test (default 8)"
    )
    p.add_argument(
        "--no-compare",
        action="store_true",
        help="run the threaded test on (c) only, not also on (b)",
    )
    p.add_argument(
        "--turns",
        type=int,
        default=30,
        help="turns on one long thread for (b) and (c) (default 30; 0 skips)",
    )
    p.add_argument(
        "--raw",
        action="store_true",
        help="add (c) timed through graph.invoke alone, without the facade",
    )
    p.add_argument("--markdown", type=Path, help="also write the report to this file")
    p.add_argument(
        "--quick", action="store_true", help="tiny smoke run (a few runs each, well under a minute)"
    )
    args = p.parse_args(argv)
    if args.quick:
        args.w1_runs, args.w5_runs, args.wa_runs, args.warmup = 8, 3, 3, 2
        args.mem_runs, args.concurrency_runs, args.no_compare, args.turns = 3, 40, True, 6
    return args


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run everything, print the report; exit 1 only if a system did not complete a workload."""
    args = parse_args(argv)
    started, load_before = time.perf_counter(), os.getloadavg()
    counts = {"W1": args.w1_runs, "W5": args.w5_runs, "WA": args.wa_runs}
    with tempfile.TemporaryDirectory(prefix="safe-agent-bench-") as tmp:
        root = Path(tmp)
        systems = build_systems(root, raw=args.raw)
        labels = {s.key: s.label for s in systems}
        timings: dict[str, dict[str, Timing]] = {}
        try:
            for wl in WORKLOADS:
                chosen = [
                    s for s in systems if not (wl.approval and s.key == "a")
                ]  # (a) has no approval
                _say(f"{wl.key}: {counts[wl.key]} runs × {len(chosen)} systems ...")
                timings[wl.key] = time_workload(chosen, wl, counts[wl.key], args.warmup)
            peaks: dict[str, float] = {}
            for s in systems:
                _say(f"memory: {s.key} ...")
                peaks[s.key] = peak_memory_kib(s, W1, args.mem_runs)
            conc = _concurrency(root, args)
            grow = _growth(root, args.turns)
        except BenchError as exc:
            _say(f"bench failed: {exc}")
            return 1
        finally:
            for s in systems:
                s.close()
    info = RunInfo(
        runs=counts,
        warmup=args.warmup,
        mem_runs=args.mem_runs,
        elapsed_s=time.perf_counter() - started,
        load_before=load_before,
        load_after=os.getloadavg(),
    )
    report = render(
        workloads=WORKLOADS,
        labels=labels,
        timings=timings,
        peaks=peaks,
        conc=conc,
        grow=grow,
        info=info,
    )
    print(report)
    if args.markdown:
        args.markdown.write_text(report)
    return 0


def _concurrency(root: Path, args: argparse.Namespace) -> list[tuple[str, ConcurrencyResult]]:
    """Run W1 from many threads on one fresh agent per system (its own checkpoint file)."""
    if args.concurrency_runs <= 0:
        return []
    targets: list[tuple[str, System]] = [
        ("(c) SafeAgent", SafeAgentSystem("c", "(c)", root / "conc_c"))
    ]
    if not args.no_compare:
        targets.append(
            (
                "(b) create_agent + middleware",
                LangChainSystem("b", "(b)", root / "conc_b", middleware_stack()),
            )
        )
    out = []
    for label, system in targets:
        _say(f"concurrency: {label}, {args.concurrency_runs} runs on {args.threads} threads ...")
        try:
            out.append((label, concurrency(system, W1, args.concurrency_runs, args.threads)))
        finally:
            system.close()
    return out


def _growth(root: Path, turns: int) -> list[tuple[str, GrowthResult]]:
    """Repeat W1 on one thread id on fresh (b) and (c), each on its own checkpoint file."""
    if turns <= 0:
        return []
    _say(f"long thread: {turns} turns on (b) and (c) ...")
    out = []
    pairs: list[tuple[str, System]] = [
        (
            "(b) create_agent + middleware",
            LangChainSystem("b", "(b)", root / "grow_b", middleware_stack()),
        ),
        ("(c) SafeAgent", SafeAgentSystem("c", "(c)", root / "grow_c")),
    ]
    for label, system in pairs:
        try:
            out.append((label, growth(system, W1, turns)))
        finally:
            system.close()
    return out


if __name__ == "__main__":
    raise SystemExit(main())
