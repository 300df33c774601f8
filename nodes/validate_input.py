"""Node: check the caller's message before anything else runs, and start a fresh run."""

from __future__ import annotations

import uuid
from typing import Any

from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from graph.context import Context
from graph.services import Services
from graph.state import State
from nodes._common import halt_update, make_event
from policies.input_guard import check_input
from policies.threads import may_use_thread
from policies.verdict import ReasonCode, Role, deny


def validate_input(state: State, runtime: Runtime[Context], config: RunnableConfig, *, services: Services) -> dict[str, Any]:
    """Start a run for the newest human message; halt it if the message fails the input policy."""
    ctx = runtime.context
    start: dict[str, Any] = {
        "run_id": uuid.uuid4().hex,
        "principal": {"user_id": ctx.user_id, "role": ctx.role, "tenant": ctx.tenant, "session_id": ctx.session_id},
        "iterations": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "cost_usd": 0.0,
        "pending_calls": [],
        "authorization": None,
        "halt": None,
        "outcome": None,
    }
    run_state: State = {**state, **start}  # type: ignore[typeddict-item]
    last = state["messages"][-1] if state.get("messages") else None
    owner = (state.get("principal") or {}).get("user_id")
    access = may_use_thread(owner_id=owner, caller_id=ctx.user_id, caller_role=Role(ctx.role))
    if not access.allowed:
        start["principal"] = state["principal"]  # the owner stays the owner
        verdict, text = access, ""
    elif not isinstance(last, HumanMessage):
        verdict = deny(ReasonCode.EMPTY_INPUT, "a run needs a user message to answer", "input.shape")
        text = ""
    else:
        raw = last.content if isinstance(last.content, str) else str(last.content)
        verdict, text = check_input(text=raw, max_chars=services.config.input.max_chars)
    event = make_event("validate_input", "input_verdict", run_state, runtime, config, verdict,
                       input={"chars": len(text)}, success=verdict.allowed)
    if not verdict.allowed:
        return {**start, **halt_update(verdict, event, f"I can't act on that request: {verdict.detail.rstrip('.')}.")}
    update: dict[str, Any] = {**start, "audit_events": [event]}
    if isinstance(last, HumanMessage) and text != last.content:
        update["messages"] = [HumanMessage(content=text, id=last.id)]
    return update
