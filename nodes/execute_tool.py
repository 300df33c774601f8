"""Node: run one authorised tool call exactly once, with timeout and breaker; never crash the run.

Before any side effect the run's pending audit events are written (invariant 5). Every call is
recorded in the execution ledger under a key derived from (thread, tool_call_id, action digest):
it runs only if the decision ledger shows authorize/approval allowed exactly these arguments
(`nodes._execution.on_record`); a replayed node returns the recorded result; a call left
"started" by a crash is re-run only if the tool is idempotent, otherwise the thread pauses for a
person to reconcile it.
"""

from __future__ import annotations

import json
import time
from functools import partial
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from safe_agent.graph.context import Context
from safe_agent.graph.services import Services
from safe_agent.graph.state import AUDIT_FLUSHED, State
from safe_agent.nodes._common import (
    head_call,
    make_event,
    no_call_update,
    stamp_event_ids,
    thread_id_of,
)
from safe_agent.nodes._execution import on_record, reconciler_id, settle, transition_events
from safe_agent.nodes._identity import decision_thread
from safe_agent.nodes._pii import protect_result
from safe_agent.nodes._switches import stop_call
from safe_agent.nodes._tool_run import ToolRun
from safe_agent.policies.input_guard import scan_tool_output
from safe_agent.policies.tool_output import quarantine, withheld_verdict
from safe_agent.policies.verdict import ReasonCode, deny
from safe_agent.tools.spec import idempotency_key_for


def execute_tool(
    state: State, runtime: Runtime[Context], config: RunnableConfig, *, services: Services
) -> dict[str, Any]:
    """Run (or replay, or reconcile) the head pending call.

    This happens only if it was authorised and approved where needed.
    """
    call, auth = head_call(state), state.get("authorization")
    if call is None:
        return no_call_update("execute_tool", state, runtime, config)
    auth = auth if isinstance(auth, dict) else {}
    services.audit.append(state.get("audit_events", []))
    stopped = stop_call(
        state, runtime, config, services
    )  # a kill switch thrown after authorize/approval
    if stopped is not None:
        return stopped
    thread = thread_id_of(config) or state.get("run_id", "")
    data = auth.get("data") if isinstance(auth.get("data"), dict) else {}
    key = idempotency_key_for(
        thread, str(call["id"])
    )  # per call, not per digest: an edit never pays twice
    started = time.perf_counter()
    if on_record(state, config, services):
        kind, verdict, result, cost, run = settle(state, runtime, config, services, key, thread)
    else:
        kind, verdict, result, cost, run = (
            "forged_state",
            deny(
                ReasonCode.NOT_AUTHORIZED_RECORD,
                "no authorization on record for this exact call; not run",
                "execute_tool.ledger",
            ),
            {"error": "not_authorised"},
            0.0,
            ToolRun(),
        )
        services.decisions.close(
            thread_id=decision_thread(state, config),
            tool_call_id=str(call["id"]),
            digest=str(data.get("digest", "")),
            status="abandoned",
            decided_by=None,
            now=services.clock(),
        )
    spec = services.tools.get(str(call["name"]))  # next: PII reaches the model as tokens
    shown = quarantine(
        protect_result(services, thread, result),
        tool_name=str(call["name"]),
        trusted=bool(spec and spec.policy.trusted_output),
        trusted_fields=spec.policy.trusted_fields if spec else (),
        scan=partial(
            scan_tool_output,
            detector=services.detector,
            detector_threshold=services.config.input.detector_threshold,
        ),
        max_chars=services.config.tools.max_result_chars,
    )
    event = make_event(
        "execute_tool",
        kind,
        state,
        runtime,
        config,
        verdict,
        tool_name=call["name"],
        tool_call_id=call["id"],
        input={
            "args": data.get("args"),
            "idempotency_key": key,
            "digest": data.get("digest"),
            "output": shown.audit_summary(),
            **run.audit_input(),
        },
        retry_count=run.retry_count,
        breaker_state=run.breaker_state,
        result_summary=json.dumps(result, default=str)[:300],
        latency_ms=(time.perf_counter() - started) * 1000,
        success=verdict.allowed,
        error=None if verdict.allowed else verdict.detail,
        cost_usd=cost,
        approver_id=reconciler_id(runtime, config, services)
        if kind.startswith("tool_reconcile")
        else data.get("approved_by"),
    )
    if kind == "tool_reconcile_refused":  # stays in doubt: audited, then paused again
        refused = {**data, "last_refusal": f"{verdict.reason_code.value}: {verdict.detail}"}
        services.audit.append(
            stamp_event_ids({"audit_events": [AUDIT_FLUSHED, event]}, config)["audit_events"][1:]
        )
        return {"authorization": {**auth, "data": refused}, "audit_events": [AUDIT_FLUSHED]}
    events = [event] + [
        make_event(
            "execute_tool",
            "tool_output_verdict",
            state,
            runtime,
            config,
            withheld_verdict(shown),
            tool_name=call["name"],
            tool_call_id=call["id"],
            success=False,
            input=shown.audit_summary(),
        )
    ] * bool(shown.withheld)
    events[1:1] = transition_events(state, runtime, config, call, run)  # the breaker's moves
    message = ToolMessage(
        content=shown.content,
        tool_call_id=call["id"],
        name=call["name"],
        status="success" if verdict.allowed else "error",
    )
    # Written now, not at the next flush: a crash after this point must not lose the record of a
    # call that ran. The ids are the ones the graph would give them, so nothing is written twice.
    services.audit.append(
        stamp_event_ids({"audit_events": [AUDIT_FLUSHED, *events]}, config)["audit_events"][1:]
    )
    clock, again = (
        state.get("run_clock"),
        kind.startswith("tool_reconcil") or kind == "tool_replayed",
    )
    resumed = {"run_clock": {**clock, "last_at": services.clock()}} if clock and again else {}
    return {
        "messages": [message],
        "pending_calls": state["pending_calls"][1:],
        "authorization": None,
        **resumed,
        "audit_events": [AUDIT_FLUSHED],
        "cost_usd": round(state.get("cost_usd", 0.0) + cost, 8),
    }
