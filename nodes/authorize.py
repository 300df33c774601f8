"""Node: decide whether the head pending tool call may run, needs approval, or is refused.

The requester's role is the one captured from runtime context when the run started (`principal`),
not the context of a later resume: an admin who approves one call must not lend the agent admin
rights for the rest of the run.
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
from nodes._common import make_event, thread_id_of
from policies.approval import action_digest
from policies.authorization import authorize_tool_call
from policies.kill_switch import check_kill_switches, tool_targets
from policies.verdict import Decision, Role


def authorize(state: State, runtime: Runtime[Context], config: RunnableConfig, *, services: Services) -> dict[str, Any]:
    """Authorise the head of `pending_calls`; a denied call is answered with a tool message and dropped."""
    call = state["pending_calls"][0]
    principal = state.get("principal") or {}
    verdict = check_kill_switches(targets=tool_targets(tool_name=str(call["name"]), tenant=principal.get("tenant"),
                                                       user_id=principal.get("user_id", "")),
                                  active=services.switches.active())
    if verdict.allowed:
        verdict = check_tool_call_budget(state, services, str(call["name"]))
    if verdict.allowed:
        verdict = authorize_tool_call(
            tool_name=str(call["name"]),
            args=call["args"],
            role=Role(principal.get("role", "read")) if principal.get("role") in {"read", "write", "admin"} else Role.READ,
            tools=services.tools,
            approval=services.config.approval,
        )
    event = make_event("authorize", "authorization", state, runtime, config, verdict, tool_name=call["name"],
                       tool_call_id=call["id"], input={"args": call["args"], "role": principal.get("role")},
                       success=verdict.decision is not Decision.DENY)
    if verdict.decision is Decision.DENY:
        refusal = ToolMessage(content=f"Denied ({verdict.reason_code.value}): {verdict.detail}",
                              tool_call_id=call["id"], name=str(call["name"]), status="error")
        return {"messages": [refusal], "pending_calls": state["pending_calls"][1:], "authorization": None,
                "audit_events": [event]}
    auth = verdict.to_dict()
    auth["data"]["digest"] = action_digest(tool_name=str(call["name"]), args=auth["data"]["args"],
                                           thread_id=thread_id_of(config), tool_call_id=call["id"],
                                           policy_version=services.config.approval.version)
    if verdict.decision is Decision.ASK_APPROVAL:
        now = services.clock()
        auth["data"].update(requested_at=now, expires_at=now + float(auth["data"]["ttl_s"]), approvals=[])
    event["input"] = {**event["input"], "digest": auth["data"]["digest"]}
    return {"authorization": auth, "audit_events": [event]}
