"""Spot a run looping instead of working: repeated calls, A-B oscillation, turns that learn nothing.

An iteration cap stops a loop eventually; these checks stop it as soon as it shows, and say
which pattern it was, so a stuck model costs three calls instead of the whole budget. They read
only the run's own tool calls and results, in order, as plain data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from safe_agent.policies.config import BudgetConfig
from safe_agent.policies.verdict import ReasonCode, Verdict, allow, deny, fail_closed


@dataclass(frozen=True, slots=True)
class ToolStep:
    """One tool call of the run, as the loop checks see it.

    Attributes:
        name: the tool the model called.
        args: the arguments as canonical JSON (sorted keys), so equal calls compare equal.
        result: the tool message the model got back, or None while the call is still pending.
    """

    name: str
    args: str
    result: str | None = None


def _repeated(steps: Sequence[ToolStep], limit: int) -> Verdict | None:
    counts = Counter((s.name, s.args) for s in steps)
    (name, args), times = max(counts.items(), key=lambda kv: kv[1], default=(("", ""), 0))
    if times >= limit:
        return deny(
            ReasonCode.REPEATED_TOOL_CALL,
            f"the model called {name} with the same arguments {times} times in this run "
            f"(limit {limit})",
            "loops.repeated_call",
            tool=name,
            observed=times,
            limit=limit,
        )
    return None


def _oscillating(steps: Sequence[ToolStep], limit: int) -> Verdict | None:
    window = [(s.name, s.args) for s in steps[-2 * limit :]]
    if len(window) < 2 * limit:
        return None
    first, second = window[0], window[1]
    if first != second and window == [first, second] * limit:
        return deny(
            ReasonCode.OSCILLATION,
            f"the model alternated between {first[0]} and {second[0]} {limit} times "
            "without finishing",
            "loops.oscillation",
            tools=[first[0], second[0]],
            observed=limit,
            limit=limit,
        )
    return None


def _no_progress(steps: Sequence[ToolStep], limit: int) -> Verdict | None:
    results = [s.result for s in steps if s.result is not None][-limit:]
    if len(results) == limit and len(set(results)) == 1:
        return deny(
            ReasonCode.NO_PROGRESS,
            f"the last {limit} tool results were identical: the run is not learning anything new",
            "loops.no_progress",
            observed=limit,
            limit=limit,
        )
    return None


@fail_closed("loops")
def check_for_loops(*, steps: Sequence[ToolStep], limits: BudgetConfig) -> Verdict:
    """Deny the next turn if the run's tool calls show a loop; checks whose limit is None are off.

    Args:
        steps: the run's tool calls in the order the model made them, with their results.
        limits: the caller's budget (`repeated_call_limit`, `oscillation_limit`,
            `no_progress_limit`).
    """
    checks = (
        (_repeated, limits.repeated_call_limit),
        (_oscillating, limits.oscillation_limit),
        (_no_progress, limits.no_progress_limit),
    )
    for check, limit in checks:
        verdict = check(steps, limit) if limit is not None else None
        if verdict is not None:
            return verdict
    return allow("loops", steps=len(steps))
