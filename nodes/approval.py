"""Node: pause for a person before an irreversible or destructive call, and judge their decision.

Nothing here has a side effect before `interrupt()`: the node re-runs from its start on resume.
The approver is whoever resumes (their runtime context), checked by the approval policy. A
decision that does not count (wrong person, an edit that fails re-authorisation) is recorded and
the node is entered again, so the thread is paused at a fresh interrupt that says why.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from graph.context import Context
from graph.services import Services
from graph.state import State
from nodes._common import make_event, thread_id_of
from policies.approval import ApprovalResponse, ApproveDecision, EditDecision, RejectDecision, check_approver
from policies.authorization import authorize_tool_call
from policies.verdict import Decision, ReasonCode, Role, Tier, Verdict, deny


def approval_request(state: State, config: RunnableConfig, services: Services) -> dict[str, Any]:
    """Build the interrupt value: LangChain's HITL format plus who, what tier, why and the cost so far."""
    call, auth = state["pending_calls"][0], state["authorization"] or {}
    tier = Tier(auth["data"]["tier"])
    return {
        "action_requests": [{"name": call["name"], "args": auth["data"]["args"],
                             "description": f"{call['name']} ({tier.value}) requested by {state['principal']['user_id']}"}],
        "review_configs": [{"action_name": call["name"], "allowed_decisions": ["approve", "edit", "reject"]}],
        "tool_call_id": call["id"],
        "tier": tier.value,
        "reason": auth.get("detail", ""),
        "thread_id": thread_id_of(config),
        "requested_by": state["principal"]["user_id"],
        "required_approver_role": services.config.approval.approver_role.get(tier, Role.ADMIN).value,
        "cost_so_far_usd": state.get("cost_usd", 0.0),
        "last_refusal": (state.get("authorization") or {}).get("data", {}).get("last_refusal"),
    }


def _judge(decision: ApproveDecision | EditDecision | RejectDecision, state: State, approver: Context,
           services: Services) -> tuple[Verdict, dict[str, Any] | None]:
    auth, call = state["authorization"] or {}, state["pending_calls"][0]
    tier = Tier(auth["data"]["tier"])
    who = check_approver(tier=tier, requester_id=state["principal"]["user_id"], approver_id=approver.user_id,
                         approver_role=Role(approver.role), config=services.config.approval)
    if not who.allowed:
        return who, None
    if isinstance(decision, RejectDecision):
        return Verdict(Decision.DENY, ReasonCode.REJECTED, decision.message or "rejected", "approval.reject"), None
    if isinstance(decision, ApproveDecision):
        return Verdict(Decision.ALLOW, ReasonCode.APPROVED, "", who.policy_id), auth["data"]["args"]
    if decision.edited_action.name != call["name"]:
        return deny(ReasonCode.INVALID_ARGUMENTS, "an edit may change the arguments, not the tool", "approval.edit"), None
    again = authorize_tool_call(tool_name=call["name"], args=decision.edited_action.args,
                                role=Role(state["principal"]["role"]), tools=services.tools,
                                approval=services.config.approval)
    if again.decision is Decision.DENY:
        return again, None
    return Verdict(Decision.ALLOW, ReasonCode.EDITED, "", who.policy_id), again.data["args"]


def approval(state: State, runtime: Runtime[Context], config: RunnableConfig, *, services: Services) -> dict[str, Any]:
    """Pause with the approval request; on resume, apply a decision that counts or pause again."""
    request = approval_request(state, config, services)
    response: ApprovalResponse = interrupt(request, response_schema=ApprovalResponse)
    decision = response.decisions[0]
    verdict, args = _judge(decision, state, runtime.context, services)
    call, auth = state["pending_calls"][0], dict(state["authorization"] or {})
    event = make_event("approval", "approval_decision", state, runtime, config, verdict, tool_name=call["name"],
                       tool_call_id=call["id"], approver_id=runtime.context.user_id,
                       input={"decision": decision.type, "request_args": auth["data"]["args"], "args": args},
                       success=verdict.allowed)
    if verdict.allowed:
        approved = {**auth, "data": {**auth["data"], "args": args, "approved_by": runtime.context.user_id,
                                     "decision": decision.type}}
        return {"authorization": approved, "audit_events": [event]}
    if verdict.reason_code is ReasonCode.REJECTED:
        msg = ToolMessage(content=f"Rejected by {runtime.context.user_id}: {verdict.detail}",
                          tool_call_id=call["id"], name=call["name"], status="error")
        return {"messages": [msg], "pending_calls": state["pending_calls"][1:], "authorization": None,
                "audit_events": [event]}
    refused = {**auth, "data": {**auth["data"], "last_refusal": f"{verdict.reason_code.value}: {verdict.detail}"}}
    return {"authorization": refused, "audit_events": [event]}
