"""Node: ask a chat model for the next step, down the degradation ladder, and settle its cost.

`nodes._ladder.climb` tries the routed model, the primary, then each fallback; each attempt goes
through its breaker and transient failures are retried (`policies.retry`). The worst case
budget_check reserved is settled to the real cost, failed attempts included; a reply whose usage
cannot be measured is charged the worst case, never $0. A read-only turn gets no write tool, and
a write the model proposes anyway is refused here, before it reaches state. The reply's text is
redacted (`nodes.validate_output.judge_reply`) before it reaches state too: every stream mode and
every checkpoint shows what this node writes, and the model's tokens are not streamed.
"""

from __future__ import annotations

import time
from typing import Any

from langchain_core.messages import SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from safe_agent.graph.context import Context
from safe_agent.graph.prompts import DATA_NOTE
from safe_agent.graph.services import Services
from safe_agent.graph.state import State
from safe_agent.nodes._budget import FINISH_NOTE, Settlement
from safe_agent.nodes._cache import cached_reply, remember
from safe_agent.nodes._common import halt_update, make_event, model_messages
from safe_agent.nodes._ladder import (
    LadderOutcome,
    climb,
    done_so_far,
    failure_verdict,
    refuse_withdrawn,
)
from safe_agent.nodes.validate_output import judge_reply
from safe_agent.policies.pricing import cost_usd, price_for, usage_measured


def reason(
    state: State, runtime: Runtime[Context], config: RunnableConfig, *, services: Services
) -> dict[str, Any]:
    """Call the ladder once, record usage, cost and the level that served, queue its tool calls."""
    started = time.perf_counter()
    settlement = Settlement(state, services)
    finish = bool((state.get("reservation") or {}).get("finish"))
    messages = [
        SystemMessage(f"{services.system_prompt}\n\n{DATA_NOTE}"),
        *model_messages(state),
        *([SystemMessage(FINISH_NOTE)] if finish else []),
    ]
    from_cache = cached_reply(services, state, messages)
    out = (
        LadderOutcome(reply=from_cache, level="cache")
        if from_cache
        else climb(services, state, config, messages, finish, settlement)
    )
    if out.reply is not None:  # judged before state (every stream mode shows it) and the cache
        out.reply = judge_reply(out.reply)
    if out.reply is not None and from_cache is None:
        remember(services, state, messages, out.reply)
    slot_name = out.slot.name if out.slot else settlement.model or services.model_name
    quote = price_for(model=slot_name, pricing=services.config.pricing)
    common = {
        "latency_ms": (time.perf_counter() - started) * 1000,
        "retry_count": max(0, sum(a["outcome"] != "refused" for a in out.attempts) - 1),
        "breaker_state": out.transitions[-1].after if out.transitions else "closed",
        "input": {
            "model": slot_name,
            "price_known": quote.known,
            "price_version": quote.table_version,
            "service_level": out.level,
            "attempts": out.attempts,
            "skipped": out.skipped,
            "withdrawn": list(out.withdrawn),
        },
    }
    events = [
        make_event(
            "reason",
            "breaker_transition",
            state,
            runtime,
            config,
            None,
            success=t.after == "closed",
            input={
                "name": t.name,
                "before": t.before,
                "after": t.after,
                "cause": t.cause,
                "consecutive_failures": t.consecutive_failures,
            },
        )
        for t in out.transitions
    ]
    if out.reply is None:
        charged = settlement.settle()
        verdict, message = failure_verdict(
            out, settlement.stop, done_so_far(state.get("messages", []))
        )
        event = make_event(
            "reason",
            "model_call",
            state,
            runtime,
            config,
            verdict,
            success=False,
            error=out.failure.message if out.failure else verdict.detail,
            cost_usd=charged,
            **common,
        )
        update = halt_update(verdict, event, message)
        return {
            **update,
            "audit_events": [*events, *update["audit_events"]],
            "reservation": None,
            "service_level": "unavailable",
            "cost_usd": round(state.get("cost_usd", 0.0) + charged, 8),
        }
    reply = out.reply
    usage = reply.usage_metadata or {}
    tokens_in, tokens_out = int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
    cached = int((usage.get("input_token_details") or {}).get("cache_read", 0) or 0)
    measured = from_cache is not None or usage_measured(
        input_tokens=tokens_in, output_tokens=tokens_out
    )
    price = (
        cost_usd(
            quote=quote,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            cached_input_tokens=cached,
        )
        if measured
        else settlement.worst_case()
    )
    cost = settlement.settle(price)
    reply.response_metadata = {
        **reply.response_metadata,
        "safe_agent_model": slot_name,
        "safe_agent_service_level": out.level,
    }
    calls, refusals = refuse_withdrawn(reply, out)
    common["input"]["usage_measured"] = measured
    detail = "" if quote.known else f"unknown model {slot_name!r} priced conservatively"
    if not measured:
        detail = (detail + "; " if detail else "") + "no usage reported: charged the worst case"
    events.append(
        make_event(
            "reason",
            "model_call",
            state,
            runtime,
            config,
            None,
            success=True,
            decision="allow",
            reason_code="ok",
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            cost_usd=cost,
            result_summary=f"{len(calls)} tool call(s)" if calls else "final answer",
            detail=detail,
            **common,
        )
    )
    return {
        "messages": [reply, *refusals],
        "iterations": state.get("iterations", 0) + 1,
        "input_tokens": state.get("input_tokens", 0) + tokens_in,
        "output_tokens": state.get("output_tokens", 0) + tokens_out,
        "cost_usd": round(state.get("cost_usd", 0.0) + cost, 8),
        "pending_calls": calls,
        "service_level": out.level,
        "authorization": None,
        "reservation": None,
        "audit_events": events,
    }
