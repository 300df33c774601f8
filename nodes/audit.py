"""Node: write the run's decisions to the append-only audit log, and close the run when it ends."""

from __future__ import annotations

import hashlib
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from safe_agent.graph.context import Context
from safe_agent.graph.services import Services
from safe_agent.graph.state import AUDIT_FLUSHED, State
from safe_agent.nodes._common import make_event


def audit(
    state: State, runtime: Runtime[Context], config: RunnableConfig, *, services: Services
) -> dict[str, Any]:
    """Append the events not yet written; at the end of a run add one outcome row first."""
    events = list(state.get("audit_events", []))
    new: list[Any] = []
    outcome = state.get("outcome")
    if outcome is not None:
        halt = state.get("halt") or {}
        new.append(
            make_event(
                "audit",
                "run_outcome",
                state,
                runtime,
                config,
                None,
                decision=outcome,
                reason_code=halt.get("reason_code", "ok"),
                detail=halt.get("detail", ""),
                input={
                    "run_cost_usd": state.get("cost_usd", 0.0),
                    "run_tokens_in": state.get("input_tokens", 0),
                    "run_tokens_out": state.get("output_tokens", 0),
                },
                success=outcome == "answered",
                result_summary=f"{state.get('iterations', 0)} model call(s)",
            )
        )
    for event in new:  # one outcome per run, however often its end is replayed after a crash
        seed = f"{event.get('thread_id')}|{event.get('run_id')}|run_outcome"
        event["event_id"] = hashlib.sha256(seed.encode()).hexdigest()[:32]
    services.audit.append(events + new)
    return {"audit_events": [AUDIT_FLUSHED]}
