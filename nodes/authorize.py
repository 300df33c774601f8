"""Node: decide whether the head pending tool call may run, needs approval, or is refused.

The requester is the one validate_input recorded in the run ledger, never `state["principal"]`
(anyone who can write state can change it) nor a later resume's caller: an approving admin must
not lend the agent admin rights. Allowed calls and approval requests go to the decision ledger.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from safe_agent.graph.context import Context
from safe_agent.graph.services import Services
from safe_agent.graph.state import State
from safe_agent.nodes._approval_ledger import record_decision
from safe_agent.nodes._common import head_call, make_event, no_call_update
from safe_agent.nodes._identity import requester_of
from safe_agent.nodes._pii import pii_scope
from safe_agent.nodes._provenance import provenance_summary
from safe_agent.nodes._review import batch_requests, call_verdict, request_data
from safe_agent.policies.verdict import Decision


def authorize(
    state: State, runtime: Runtime[Context], config: RunnableConfig, *, services: Services
) -> dict[str, Any]:
    """Authorise the head of `pending_calls`.

    A denied call is answered with a tool message and dropped.
    """
    call = head_call(state)
    if call is None:
        return no_call_update("authorize", state, runtime, config)
    requester = requester_of(state, config, services)
    verdict = call_verdict(call, requester, state, services, pii_scope(state, config))
    event = make_event(
        "authorize",
        "authorization",
        state,
        runtime,
        config,
        verdict,
        tool_name=call["name"],
        tool_call_id=call["id"],
        input={
            "args": call["args"],
            "role": requester.role if requester else None,
            "provenance": provenance_summary(verdict),
        },
        success=verdict.decision is not Decision.DENY,
    )
    if verdict.decision is Decision.DENY:
        refusal = ToolMessage(
            content=f"Denied ({verdict.reason_code.value}): {verdict.detail}",
            tool_call_id=call["id"],
            name=str(call["name"]),
            status="error",
        )
        return {
            "messages": [refusal],
            "pending_calls": state["pending_calls"][1:],
            "authorization": None,
            "audit_events": [event],
        }
    assert requester is not None
    auth = request_data(verdict, call, config, services)
    if verdict.decision is Decision.ASK_APPROVAL:
        auth["data"]["batch"] = batch_requests(state, config, services, requester)
    record_decision(state, config, services, call, auth, requester.user_id)
    event["input"] = {
        **event["input"],
        "digest": auth["data"]["digest"],
        "batch": [b["tool_call_id"] for b in auth["data"].get("batch", [])],
    }
    return {"authorization": auth, "audit_events": [event]}
