"""Node: ask the chat model for the next step (timeout, transient-only retries) and settle its cost.

The worst case budget_check reserved is settled to the real cost, failed attempts included (see
`nodes._budget.Settlement`); a run steered to finish gets no tools and a note asking to answer.
"""

from __future__ import annotations

import random
import time
from typing import Any

from langchain_core.messages import AIMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from graph.context import Context
from graph.prompts import DATA_NOTE
from graph.services import Services
from graph.state import PendingCall, State
from nodes._budget import FINISH_NOTE, Settlement
from nodes._calls import Failure, call_with_timeout, describe_failure
from nodes._common import halt_update, make_event, model_messages
from nodes.breaker_check import breaker_name
from policies.pricing import cost_usd, price_for
from policies.retry import backoff_delay, is_transient
from policies.verdict import ReasonCode, Verdict, deny


def _pending_calls(message: AIMessage) -> list[PendingCall]:
    calls: list[PendingCall] = [{"id": c["id"] or f"call_{i}", "name": c["name"], "args": c["args"]}
                                for i, c in enumerate(message.tool_calls)]
    calls += [{"id": c.get("id") or f"invalid_{i}", "name": c.get("name") or "", "args": c.get("args")}
              for i, c in enumerate(message.invalid_tool_calls)]
    return calls


def _invoke(services: Services, state: State, config: RunnableConfig,
            settlement: Settlement) -> tuple[AIMessage | None, Failure | None, int]:
    finish = bool((state.get("reservation") or {}).get("finish"))
    model = services.model if finish else services.model_with_tools
    messages = [SystemMessage(f"{services.system_prompt}\n\n{DATA_NOTE}"), *model_messages(state), *([SystemMessage(FINISH_NOTE)] if finish else [])]
    retry = services.config.retry
    for attempt in range(retry.max_retries + 1):
        try:
            reply = call_with_timeout(lambda: model.invoke(messages, config), services.config.model.timeout_s)
            if not isinstance(reply, AIMessage):
                raise TypeError(f"model returned {type(reply).__name__}, not an AIMessage")
            return reply, None, attempt
        except Exception as exc:  # noqa: BLE001 - every model failure becomes data (GraphBubbleUp re-raised)
            failure = describe_failure(exc)
        will_retry = attempt < retry.max_retries and is_transient(kind=failure.kind, status_code=failure.status_code)
        if not settlement.on_failure(failure, will_retry) or not will_retry:
            return None, failure, attempt
        services.sleep(backoff_delay(attempt=attempt + 1, config=retry, jitter_fraction=random.random()))
    raise AssertionError("unreachable")


def _failure_verdict(failure: Failure, budget_stop: Verdict | None) -> tuple[Verdict, str]:
    """Say why the step failed: a budget that refused a retry, or the model's own failure."""
    if budget_stop is not None:
        return budget_stop, f"I stopped before finishing: a retry was refused because {budget_stop.detail}."
    transient = is_transient(kind=failure.kind, status_code=failure.status_code)
    code = ReasonCode.MODEL_UNAVAILABLE if transient or failure.status_code is None else ReasonCode.MODEL_REJECTED_REQUEST
    verdict = deny(code, f"the model call failed ({failure.kind}"
                         f"{', HTTP ' + str(failure.status_code) if failure.status_code else ''})",
                   "reason.model_call", kind=failure.kind, status_code=failure.status_code)
    return verdict, f"I could not finish: {verdict.detail}. Nothing further was done."


def reason(state: State, runtime: Runtime[Context], config: RunnableConfig, *, services: Services) -> dict[str, Any]:
    """Call the model once (retrying transient errors), record usage and cost, queue its tool calls."""
    started = time.perf_counter()
    settlement = Settlement(state, services)
    reply, failure, retries = _invoke(services, state, config, settlement)
    latency_ms = (time.perf_counter() - started) * 1000
    breaker = services.breakers.record(breaker_name(services), success=failure is None,
                                       now=services.clock(), config=services.config.breaker)
    quote = price_for(model=services.model_name, pricing=services.config.pricing)
    common = {"latency_ms": latency_ms, "retry_count": retries, "breaker_state": breaker.phase.value,
              "input": {"model": services.model_name, "price_known": quote.known, "price_version": quote.table_version}}
    if failure is not None:
        charged = settlement.settle()
        verdict, message = _failure_verdict(failure, settlement.stop)
        event = make_event("reason", "model_call", state, runtime, config, verdict, success=False,
                           error=failure.message, cost_usd=charged, **common)
        return {**halt_update(verdict, event, message), "reservation": None,
                "cost_usd": round(state.get("cost_usd", 0.0) + charged, 8)}
    usage = reply.usage_metadata or {}
    tokens_in, tokens_out = int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
    cached = int((usage.get("input_token_details") or {}).get("cache_read", 0) or 0)
    cost = settlement.settle(cost_usd(quote=quote, input_tokens=tokens_in, output_tokens=tokens_out,
                                      cached_input_tokens=cached))
    calls = _pending_calls(reply)
    event = make_event("reason", "model_call", state, runtime, config, None, success=True, decision="allow",
                       reason_code="ok", tokens_in=tokens_in, tokens_out=tokens_out, cost_usd=cost,
                       result_summary=f"{len(calls)} tool call(s)" if calls else "final answer",
                       detail="" if quote.known else f"unknown model {services.model_name!r} priced conservatively",
                       **common)
    return {
        "messages": [reply],
        "iterations": state.get("iterations", 0) + 1,
        "input_tokens": state.get("input_tokens", 0) + tokens_in,
        "output_tokens": state.get("output_tokens", 0) + tokens_out,
        "cost_usd": round(state.get("cost_usd", 0.0) + cost, 8),
        "pending_calls": calls,
        "authorization": None, "reservation": None,
        "audit_events": [event],
    }
