"""Node: stop before the model call when the operator's switches say so or no model can serve.

The model kill switches (all, model, tenant, user) halt the run. Otherwise the ladder is read:
if every model slot is switched off or behind an open breaker, the run ends with an honest "cannot
do this right now" and what was done so far, and no request is sent. The breakers are only read
here: each attempt in `reason` asks its breaker itself, so the half-open probe is one attempt.
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from safe_agent.graph.context import Context
from safe_agent.graph.services import Services
from safe_agent.graph.state import State
from safe_agent.nodes._budget import release_reservation
from safe_agent.nodes._common import halt_update, make_event
from safe_agent.nodes._ladder import done_so_far, facts, ladder
from safe_agent.policies.kill_switch import check_kill_switches, model_targets
from safe_agent.policies.routing import available
from safe_agent.policies.verdict import ReasonCode


def breaker_check(
    state: State, runtime: Runtime[Context], config: RunnableConfig, *, services: Services
) -> dict[str, Any]:
    """Honour the operator's kill switches, then check that some model on the ladder can serve."""
    principal = state.get("principal") or {}
    active = services.switches.active()
    verdict = check_kill_switches(
        targets=model_targets(tenant=principal.get("tenant"), user_id=principal.get("user_id", "")),
        active=active,
    )
    slots = []
    if verdict.allowed:
        slots = [facts(services, slot, active) for slot in ladder(services, state)]
        verdict = available(slots)
    phase = "open" if any(s.breaker_open for s in slots) else "closed"
    event = make_event(
        "breaker_check",
        "breaker_verdict",
        state,
        runtime,
        config,
        verdict,
        breaker_state=phase,
        success=verdict.allowed,
        input={
            "ladder": [
                {
                    "breaker": s.breaker,
                    "level": s.level,
                    "open": s.breaker_open,
                    "switched_off_by": s.switched_off_by,
                }
                for s in slots
            ]
        },
    )
    if verdict.allowed:
        return {"audit_events": [event]}
    release_reservation(
        state, services
    )  # no call will be made: free the budget budget_check held for it
    done = done_so_far(state.get("messages", []))
    if verdict.reason_code is ReasonCode.KILL_SWITCH:
        message = (
            f"The operator has paused this service ({verdict.detail}). {done} "
            "Please try again later."
        )
    else:
        message = f"I cannot do this right now: {verdict.detail}. {done} Please try again later."
    return {
        **halt_update(verdict, event, message),
        "reservation": None,
        "service_level": "unavailable",
    }
