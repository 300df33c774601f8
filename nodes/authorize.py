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

from graph.context import Context
from graph.services import Services
from graph.state import State
from nodes._budget import check_tool_call_budget
from nodes._common import head_call, make_event, no_call_update, thread_id_of
from nodes._approval_ledger import record_decision
from nodes._identity import requester_of
from nodes._provenance import provenance_summary, with_provenance
from policies.approval import action_digest
from policies.authorization import authorize_tool_call
from policies.kill_switch import check_kill_switches, tool_targets
from policies.verdict import Decision, ReasonCode, Role, Verdict, deny
from stores.runs import RunPrincipal


def _verdict(call: dict[str, Any], requester: RunPrincipal | None, state: State,
             services: Services) -> Verdict:
    if requester is None:
        return deny(ReasonCode.FORGED_STATE, "this run has no recorded requester; nothing may run",
                    "authorize.requester")
    verdict = check_kill_switches(
        targets=tool_targets(tool_name=str(call["name"]), tenant=requester.tenant,
                             user_id=requester.user_id),
        active=services.switches.active(),
    )
    if verdict.allowed:
        verdict = check_tool_call_budget(state, services, str(call["name"]))
    if verdict.allowed:
        verdict = authorize_tool_call(
            tool_name=str(call["name"]),
            args=call["args"],
            role=Role(requester.role) if requester.role in {"read", "write", "admin"} else Role.READ,
            tools=services.tools,
            approval=services.config.approval,
        )
    return with_provenance(verdict, call, state, services)


def authorize(state: State, runtime: Runtime[Context], config: RunnableConfig, *, services: Services) -> dict[str, Any]:
    """Authorise the head of `pending_calls`; a denied call is answered with a tool message and dropped."""
    call = head_call(state)
    if call is None:
        return no_call_update("authorize", state, runtime, config)
    requester = requester_of(state, config, services)
    verdict = _verdict(call, requester, state, services)
    event = make_event("authorize", "authorization", state, runtime, config, verdict, tool_name=call["name"],
                       tool_call_id=call["id"],
                       input={"args": call["args"], "role": requester.role if requester else None,
                              "provenance": provenance_summary(verdict)},
                       success=verdict.decision is not Decision.DENY)
    if verdict.decision is Decision.DENY:
        refusal = ToolMessage(content=f"Denied ({verdict.reason_code.value}): {verdict.detail}",
                              tool_call_id=call["id"], name=str(call["name"]), status="error")
        return {"messages": [refusal], "pending_calls": state["pending_calls"][1:], "authorization": None,
                "audit_events": [event]}
    assert requester is not None
    auth = verdict.to_dict()
    auth["data"]["digest"] = action_digest(tool_name=str(call["name"]), args=auth["data"]["args"],
                                           thread_id=thread_id_of(config), tool_call_id=call["id"],
                                           policy_version=services.config.approval.version)
    if verdict.decision is Decision.ASK_APPROVAL:
        now = services.clock()
        auth["data"].update(requested_at=now, expires_at=now + float(auth["data"]["ttl_s"]), approvals=[])
    record_decision(state, config, services, call, auth, requester.user_id)
    event["input"] = {**event["input"], "digest": auth["data"]["digest"]}
    return {"authorization": auth, "audit_events": [event]}
