"""Node: before each model call, check every runaway limit and reserve the call's worst case.

In order: the user's request rate (first turn only), iterations, the wall-clock deadline, tool
calls, tokens and the run's USD (`check_before_request`), loops (`check_for_loops`), then an
atomic reservation against the run, user-day, tenant-day and global-month budgets in the spend
ledger. Any refusal halts the run gracefully and says which limit and what is left; a budget past
its soft ratio adds a warning and steers the model to finish.
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from safe_agent.graph.context import Context
from safe_agent.graph.services import Services
from safe_agent.graph.state import RunClock, State
from safe_agent.nodes._budget import (
    advance_clock,
    prompt_tokens_estimate,
    rate_limit_hit,
    role_limits,
    routed_slot,
    run_steps,
    spend_scope,
    tool_call_counts,
)
from safe_agent.nodes._common import halt_update, make_event
from safe_agent.policies.budget import RunUsage, check_before_request, format_usd
from safe_agent.policies.loops import check_for_loops
from safe_agent.policies.pricing import price_for
from safe_agent.policies.verdict import ReasonCode, Verdict


def _soft_warnings(verdict: Verdict, clock: RunClock) -> list[dict[str, Any]]:
    """Return the soft limits this verdict reports that the run has not been warned about yet."""
    if verdict.reason_code is not ReasonCode.SOFT_LIMIT:
        return []
    return [s for s in verdict.data.get("soft", []) if s["budget"] not in clock["soft_warned"]]


def budget_check(
    state: State, runtime: Runtime[Context], config: RunnableConfig, *, services: Services
) -> dict[str, Any]:
    """Halt the run if a limit is spent or a loop shows; else reserve the next call's worst case."""
    now, limits = services.clock(), role_limits(state, services)
    clock, first = advance_clock(state, now)
    warnings = [] if first else list(state.get("warnings") or [])
    slot, route = routed_slot(state, services, clock)
    quote = price_for(model=slot.name, pricing=services.config.pricing)
    prompt_tokens = prompt_tokens_estimate(state, services)
    key = f"{state.get('run_id', '')}:{state.get('iterations', 0)}"
    facts: dict[str, Any] = {
        "model": slot.name,
        "price_known": quote.known,
        "reservation_id": key,
        "elapsed_s": round(clock["active_s"], 3),
        "route": route.detail,
    }
    verdict = rate_limit_hit(state, services, now) if first else None
    if verdict is None or verdict.allowed:
        facts["rate_limit"] = verdict.data if verdict else None
        usage = RunUsage(
            iterations=state.get("iterations", 0),
            input_tokens=state.get("input_tokens", 0),
            output_tokens=state.get("output_tokens", 0),
            cost_usd=state.get("cost_usd", 0.0),
            tool_calls=tool_call_counts(state.get("messages", [])),
        )
        verdict = check_before_request(
            usage=usage,
            limits=limits,
            quote=quote,
            prompt_tokens_estimate=prompt_tokens,
            elapsed_s=clock["active_s"],
        )
    worst, finish = verdict.data.get("worst_case_usd", 0.0), bool(verdict.data.get("finish"))
    if verdict.allowed:
        verdict = check_for_loops(steps=run_steps(state.get("messages", [])), limits=limits)
    if verdict.allowed:
        verdict = services.spend.reserve(
            key, scope=spend_scope(state), amount_usd=worst, now=now, limits=limits
        )
    event = make_event(
        "budget_check",
        "budget_verdict",
        state,
        runtime,
        config,
        verdict,
        input={**facts, **verdict.data},
        cost_usd=0.0,
        success=verdict.allowed,
    )
    base: dict[str, Any] = {"run_clock": clock, "reservation": None, "warnings": warnings}
    if not verdict.allowed:
        spent = format_usd(state.get("cost_usd", 0.0))
        message = (
            f"I stopped before finishing: {verdict.detail.rstrip('.')}. "
            f"Spent so far in this run: {spent}."
        )
        return {**base, **halt_update(verdict, event, message)}
    events = [event]
    fresh = _soft_warnings(verdict, clock)
    if fresh:
        clock["soft_warned"] = [*clock["soft_warned"], *(s["budget"] for s in fresh)]
        warnings += [
            f"soft limit: {s['label']} reaches {s['ratio']:.0%} with this call "
            f"({format_usd(s['committed'])} "
            f"of {format_usd(s['limit'])}); the agent was asked to finish"
            for s in fresh
        ]
        events.append(
            make_event(
                "budget_check",
                "soft_limit",
                state,
                runtime,
                config,
                verdict,
                input={"soft": fresh},
                cost_usd=0.0,
                success=True,
            )
        )
    finish = finish or verdict.reason_code is ReasonCode.SOFT_LIMIT
    reservation = {
        "id": key,
        "amount_usd": worst,
        "prompt_tokens": prompt_tokens,
        "finish": finish,
        "model": slot.breaker,
    }
    return {**base, "reservation": reservation, "warnings": warnings, "audit_events": events}
