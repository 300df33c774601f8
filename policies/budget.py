"""Decide whether a run may make its next model call: iterations, tokens and USD per run.

The USD check is made *before* the call against its worst case (estimated prompt tokens at the
input price plus the full output allowance at the output price), so a run cannot overrun its
cap by one expensive call, which is the gap in checking after the money is spent.
"""

from __future__ import annotations

from dataclasses import dataclass

from policies.config import BudgetConfig
from policies.pricing import PriceQuote, cost_usd
from policies.verdict import ReasonCode, Verdict, allow, deny, fail_closed


@dataclass(frozen=True, slots=True)
class RunUsage:
    """What a run has consumed so far."""

    iterations: int
    input_tokens: int
    output_tokens: int
    cost_usd: float


@fail_closed("budget")
def check_before_request(
    *, usage: RunUsage, limits: BudgetConfig, quote: PriceQuote, prompt_tokens_estimate: int
) -> Verdict:
    """Allow the next model call only if every run limit still holds after its worst case."""
    if limits.iterations_limit is not None and usage.iterations >= limits.iterations_limit:
        return deny(
            ReasonCode.MAX_ITERATIONS,
            f"stopped after {usage.iterations} model calls (limit {limits.iterations_limit})",
            "budget.iterations",
            limit=limits.iterations_limit,
            observed=usage.iterations,
        )
    used_tokens = usage.input_tokens + usage.output_tokens
    worst_tokens = used_tokens + prompt_tokens_estimate + limits.max_output_tokens
    if limits.run_tokens_limit is not None and worst_tokens > limits.run_tokens_limit:
        return deny(
            ReasonCode.TOKEN_LIMIT,
            f"the next call could use {worst_tokens} tokens in this run (limit {limits.run_tokens_limit})",
            "budget.tokens",
            limit=limits.run_tokens_limit,
            observed=used_tokens,
            worst_case=worst_tokens,
        )
    worst_call = cost_usd(quote=quote, input_tokens=prompt_tokens_estimate, output_tokens=limits.max_output_tokens)
    if limits.run_cost_limit_usd is not None and usage.cost_usd + worst_call > limits.run_cost_limit_usd:
        remaining = max(0.0, limits.run_cost_limit_usd - usage.cost_usd)
        return deny(
            ReasonCode.RUN_COST_LIMIT,
            f"the run's budget of ${limits.run_cost_limit_usd:.4f} cannot cover the next call "
            f"(spent ${usage.cost_usd:.4f}, ${remaining:.4f} left, next call up to ${worst_call:.4f})",
            "budget.run_cost",
            limit=limits.run_cost_limit_usd,
            observed=usage.cost_usd,
            worst_case=worst_call,
            remaining=remaining,
        )
    return allow("budget", worst_case_usd=worst_call, reserved_tokens=worst_tokens - used_tokens)


def is_halt(verdict: Verdict) -> bool:
    """Say whether a budget verdict ends the run (any deny does; there is no soft deny yet)."""
    return verdict.reason_code is not ReasonCode.OK
