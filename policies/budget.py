"""Decide if a run may go on: run limits, nested USD budgets with soft limits, tool-call counts.

Every USD check is made *before* the money is spent, against the worst case of the next charge,
so no budget can be overrun by one expensive call. The budgets nest: a charge must fit the run,
the user's UTC day, the tenant's UTC day and the deployment's UTC month at once, and the
first one that cannot cover it is named in the verdict together with what is left.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from safe_agent.policies.config import BudgetConfig
from safe_agent.policies.pricing import PriceQuote, worst_case_usd
from safe_agent.policies.verdict import Decision, ReasonCode, Verdict, allow, deny, fail_closed

EPSILON_USD = 1e-9
"""Slack in cap comparisons, so five charges of $0.10 fit a $0.50 budget despite float noise."""


@dataclass(frozen=True, slots=True)
class RunUsage:
    """What a run has consumed so far."""

    iterations: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    tool_calls: Mapping[str, int] = field(default_factory=dict)
    """Tool calls the model made in this run (each answered by a tool message), by tool name."""


@dataclass(frozen=True, slots=True)
class Committed:
    """USD each enclosing budget already holds: settled spend plus unexpired reservations."""

    run: float
    user_day: float
    tenant_day: float | None
    """None when the run has no tenant (the tenant budget does not apply)."""
    global_month: float


def format_usd(amount: float) -> str:
    """Show dollars with enough digits to tell small amounts apart ($0.0500, but $0.001060)."""
    return f"${amount:.4f}" if abs(amount) >= 0.01 or amount == 0 else f"${amount:.6f}"


def spend_windows(now: float) -> tuple[str, str]:
    """Return the UTC day ("2026-11-22") and month ("2026-11") of a charge made at `now`."""
    moment = datetime.fromtimestamp(now, UTC)
    return moment.strftime("%Y-%m-%d"), moment.strftime("%Y-%m")


def limits_for_role(*, limits: BudgetConfig, role: str) -> BudgetConfig:
    """Apply the role's overrides: fields the operator set for the role replace the defaults."""
    override = limits.roles.get(role)  # type: ignore[call-overload]  # Role is a str enum
    if override is None:
        return limits
    return limits.model_copy(
        update={name: getattr(override, name) for name in override.model_fields_set}
    )


@fail_closed("budget")
def check_before_request(
    *,
    usage: RunUsage,
    limits: BudgetConfig,
    quote: PriceQuote,
    prompt_tokens_estimate: int,
    elapsed_s: float = 0.0,
) -> Verdict:
    """Allow the next model call only if every run limit still holds after its worst case.

    The allow verdict carries `finish=True` when the run has used its last tool call: the model
    then gets one more turn, without tools, to give its answer.
    """
    if limits.iterations_limit is not None and usage.iterations >= limits.iterations_limit:
        return deny(
            ReasonCode.MAX_ITERATIONS,
            f"stopped after {usage.iterations} model calls (limit {limits.iterations_limit})",
            "budget.iterations",
            limit=limits.iterations_limit,
            observed=usage.iterations,
        )
    if limits.run_deadline_s is not None and elapsed_s > limits.run_deadline_s:
        return deny(
            ReasonCode.DEADLINE,
            f"the run has worked for {elapsed_s:.0f} s, past its deadline of "
            f"{limits.run_deadline_s:g} s",
            "budget.deadline",
            limit=limits.run_deadline_s,
            observed=round(elapsed_s, 3),
        )
    calls = sum(usage.tool_calls.values())
    if limits.tool_calls_limit is not None and calls > limits.tool_calls_limit:
        return deny(
            ReasonCode.TOOL_CALL_LIMIT,
            f"the model made {calls} tool calls (limit {limits.tool_calls_limit} per run)",
            "budget.tool_calls",
            limit=limits.tool_calls_limit,
            observed=calls,
        )
    for tool, cap in sorted((limits.per_tool_calls_limit or {}).items()):
        if usage.tool_calls.get(tool, 0) > cap:
            return deny(
                ReasonCode.TOOL_CALL_LIMIT,
                f"the model called {tool} {usage.tool_calls[tool]} times (limit {cap} per run)",
                "budget.per_tool_calls",
                tool=tool,
                limit=cap,
                observed=usage.tool_calls[tool],
            )
    used_tokens = usage.input_tokens + usage.output_tokens
    worst_tokens = used_tokens + prompt_tokens_estimate + limits.max_output_tokens
    if limits.run_tokens_limit is not None and worst_tokens > limits.run_tokens_limit:
        return deny(
            ReasonCode.TOKEN_LIMIT,
            f"the next call could use {worst_tokens} tokens in this run "
            f"(limit {limits.run_tokens_limit})",
            "budget.tokens",
            limit=limits.run_tokens_limit,
            observed=used_tokens,
            worst_case=worst_tokens,
        )
    worst_call = worst_case_usd(
        quote=quote,
        prompt_tokens=prompt_tokens_estimate,
        max_output_tokens=limits.max_output_tokens,
    )
    if (
        limits.run_cost_limit_usd is not None
        and usage.cost_usd + worst_call > limits.run_cost_limit_usd + EPSILON_USD
    ):
        remaining = max(0.0, limits.run_cost_limit_usd - usage.cost_usd)
        return deny(
            ReasonCode.RUN_COST_LIMIT,
            f"the run's budget of {format_usd(limits.run_cost_limit_usd)} cannot cover the next "
            f"call (spent {format_usd(usage.cost_usd)}, {format_usd(remaining)} left, next call "
            f"up to {format_usd(worst_call)})",
            "budget.run_cost",
            limit=limits.run_cost_limit_usd,
            observed=usage.cost_usd,
            worst_case=worst_call,
            remaining=remaining,
        )
    finish = limits.tool_calls_limit is not None and calls >= limits.tool_calls_limit
    return allow(
        "budget",
        worst_case_usd=worst_call,
        reserved_tokens=worst_tokens - used_tokens,
        finish=finish,
    )


_BUDGETS = (  # (name, reason, limit field, committed field, label template)
    ("run", ReasonCode.RUN_COST_LIMIT, "run_cost_limit_usd", "run", "this run's budget"),
    (
        "user_daily",
        ReasonCode.USER_DAILY_LIMIT,
        "user_daily_limit_usd",
        "user_day",
        "{user}'s daily budget",
    ),
    (
        "tenant_daily",
        ReasonCode.TENANT_DAILY_LIMIT,
        "tenant_daily_limit_usd",
        "tenant_day",
        "tenant {tenant}'s daily budget",
    ),
    (
        "global_monthly",
        ReasonCode.GLOBAL_MONTHLY_LIMIT,
        "global_monthly_limit_usd",
        "global_month",
        "the global monthly budget",
    ),
)


@fail_closed("budget.reserve")
def check_reservation(
    *,
    committed: Committed,
    amount_usd: float,
    limits: BudgetConfig,
    user_id: str = "",
    tenant: str | None = None,
) -> Verdict:
    """Allow holding `amount_usd` only if every enclosing budget can cover it; flag soft limits.

    Returns a deny naming the first budget that cannot cover the charge (reason code, limit,
    committed, remaining), an allow with `SOFT_LIMIT` listing the budgets the charge takes past
    `soft_limit_ratio`, or a plain allow.
    """
    if not math.isfinite(amount_usd) or amount_usd < 0:
        raise ValueError("a reservation must be a finite, non-negative amount")
    soft: list[dict[str, object]] = []
    for name, reason, limit_field, committed_field, template in _BUDGETS:
        limit: float | None = getattr(limits, limit_field)
        held: float | None = getattr(committed, committed_field)
        if limit is None or held is None:
            continue
        label = template.format(user=f"user {user_id}", tenant=tenant)
        after = held + amount_usd
        remaining = max(0.0, limit - held)
        if after > limit + EPSILON_USD:
            return deny(
                reason,
                f"{label} of {format_usd(limit)} cannot cover the next charge "
                f"({format_usd(remaining)} left, up to {format_usd(amount_usd)} needed)",
                f"budget.{name}",
                budget=name,
                limit=limit,
                committed=round(held, 8),
                remaining=round(remaining, 8),
                needed=amount_usd,
            )
        if (
            limits.soft_limit_ratio is not None
            and after >= limits.soft_limit_ratio * limit - EPSILON_USD
        ):
            soft.append(
                {
                    "budget": name,
                    "label": label,
                    "limit": limit,
                    "committed": round(after, 8),
                    "ratio": round(after / limit, 4),
                }
            )
    if soft:
        detail = "; ".join(
            f"{s['label']} reaches {float(s['ratio']):.0%} with this charge "  # type: ignore[arg-type]
            f"({format_usd(float(s['committed']))} of {format_usd(float(s['limit']))})"  # type: ignore[arg-type]
            for s in soft
        )
        return Verdict(
            Decision.ALLOW,
            ReasonCode.SOFT_LIMIT,
            detail,
            "budget.soft_limit",
            {"soft": soft, "amount_usd": amount_usd},
        )
    return allow("budget.reserve", amount_usd=amount_usd)


@fail_closed("budget.tool_calls")
def check_before_tool_call(
    *, tool_name: str, calls_so_far: Mapping[str, int], limits: BudgetConfig
) -> Verdict:
    """Allow one more `tool_name` call only if the run's total and that tool's count stay in limits.

    Args:
        tool_name: the tool the model wants to call now.
        calls_so_far: calls already made in this run (each answered by a tool message), by
            tool name; the call being decided is not in it.
        limits: the caller's budget (after `limits_for_role`).
    """
    total = sum(calls_so_far.values())
    if limits.tool_calls_limit is not None and total >= limits.tool_calls_limit:
        return deny(
            ReasonCode.TOOL_CALL_LIMIT,
            f"this run has used all {limits.tool_calls_limit} of its tool calls; "
            "answer with what you have",
            "budget.tool_calls",
            limit=limits.tool_calls_limit,
            observed=total,
        )
    cap = (limits.per_tool_calls_limit or {}).get(tool_name)
    used = calls_so_far.get(tool_name, 0)
    if cap is not None and used >= cap:
        return deny(
            ReasonCode.TOOL_CALL_LIMIT,
            f"{tool_name} may be called {cap} times per run and was called {used}",
            "budget.per_tool_calls",
            tool=tool_name,
            limit=cap,
            observed=used,
        )
    return allow("budget.tool_calls", observed=total)


def is_halt(verdict: Verdict) -> bool:
    """Say whether a budget verdict ends the run: any deny does, a soft limit does not."""
    return verdict.decision is Decision.DENY
