"""Node: do not call a model provider whose breaker is open; degrade with an honest message."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from graph.context import Context
from graph.services import Services
from graph.state import State
from nodes._budget import release_reservation
from nodes._common import halt_update, make_event
from policies.kill_switch import check_kill_switches, model_targets
from policies.verdict import ReasonCode


def breaker_name(services: Services) -> str:
    """Name the breaker that guards the configured model provider."""
    return f"model:{services.provider}"


def breaker_check(state: State, runtime: Runtime[Context], config: RunnableConfig, *, services: Services) -> dict[str, Any]:
    """Honour the operator's kill switches, then take the provider breaker's verdict (maybe the probe)."""
    principal = state.get("principal") or {}
    verdict = check_kill_switches(targets=model_targets(tenant=principal.get("tenant"),
                                                        user_id=principal.get("user_id", "")),
                                  active=services.switches.active())
    phase = "n/a"
    if verdict.allowed:
        verdict, breaker = services.breakers.acquire(
            breaker_name(services), now=services.clock(), config=services.config.breaker
        )
        phase = breaker.phase.value
    event = make_event("breaker_check", "breaker_verdict", state, runtime, config, verdict,
                       breaker_state=phase, success=verdict.allowed)
    if verdict.allowed:
        return {"audit_events": [event]}
    release_reservation(state, services)  # no call will be made: free the budget budget_check held for it
    why = ("The operator has paused this service" if verdict.reason_code is ReasonCode.KILL_SWITCH
           else "The language model provider is unavailable right now")
    return {**halt_update(verdict, event, f"{why} ({verdict.detail}). Nothing was done; please try again later."),
            "reservation": None}
