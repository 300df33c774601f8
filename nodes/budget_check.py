"""Node: refuse the next model call unless every run budget survives its worst case."""

from __future__ import annotations

import json
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from graph.context import Context
from graph.services import Services
from graph.state import State
from nodes._common import halt_update, make_event
from policies.budget import RunUsage, check_before_request
from policies.pricing import estimate_tokens, price_for


def _prompt_chars(state: State) -> str:
    return json.dumps([m.content for m in state.get("messages", [])], default=str)


def budget_check(state: State, runtime: Runtime[Context], config: RunnableConfig, *, services: Services) -> dict[str, Any]:
    """Ask the budget policy whether one more model call fits; halt gracefully if not."""
    usage = RunUsage(
        iterations=state.get("iterations", 0),
        input_tokens=state.get("input_tokens", 0),
        output_tokens=state.get("output_tokens", 0),
        cost_usd=state.get("cost_usd", 0.0),
    )
    quote = price_for(model=services.model_name, pricing=services.config.pricing)
    verdict = check_before_request(
        usage=usage,
        limits=services.config.budget,
        quote=quote,
        prompt_tokens_estimate=estimate_tokens(_prompt_chars(state)) + 500 * len(services.tools),
    )
    event = make_event("budget_check", "budget_verdict", state, runtime, config, verdict,
                       input={"model": services.model_name, "price_known": quote.known, **verdict.data},
                       cost_usd=0.0, success=verdict.allowed)
    if verdict.allowed:
        return {"audit_events": [event]}
    spent = f"${usage.cost_usd:.4f}"
    return halt_update(verdict, event, f"I stopped before finishing: {verdict.detail.rstrip('.')}. Spent so far in this run: {spent}.")
