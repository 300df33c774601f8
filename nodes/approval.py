"""Node: pause for people before a call that needs approval, and apply their decisions.

Nothing here has a side effect before `interrupt()`: the node re-runs from its start on resume.
The approver is whoever resumes (their runtime context); `policies.approval_decision` judges
the decision (expiry, digest, authority, quorum, edits). A decision that does not run or drop
the call leaves it pending: the route goes through `audit` and back here, to a fresh interrupt.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from graph.context import Context
from graph.services import Services
from graph.state import State
from nodes._common import make_event, thread_id_of
from policies.approval import ApprovalResponse
from policies.approval_decision import PendingAction, judge_decision
from policies.verdict import Role


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def approval_request(state: State, config: RunnableConfig) -> dict[str, Any]:
    """Build the interrupt value: LangChain's HITL format plus the binding, the rule and who asked."""
    call, data = state["pending_calls"][0], (state.get("authorization") or {})["data"]
    return {
        "kind": "approval",
        "action_requests": [{"name": call["name"], "args": data["args"],
                             "description": f"{call['name']} ({data['tier']}) requested by {state['principal']['user_id']}"}],
        "review_configs": [{"action_name": call["name"], "allowed_decisions": ["approve", "edit", "reject"]}],
        "tool_call_id": call["id"], "action_digest": data["digest"], "tier": data["tier"],
        "rule_id": data["rule_id"], "quorum": data["quorum"], "approvals": list(data.get("approvals", [])),
        "approver_role": data["approver_role"], "approver_groups": data.get("approver_groups", []),
        "requested_at": _iso(data["requested_at"]), "expires_at": _iso(data["expires_at"]),
        "expires_at_epoch": data["expires_at"], "thread_id": thread_id_of(config),
        "requested_by": state["principal"]["user_id"], "cost_so_far_usd": state.get("cost_usd", 0.0),
        "last_refusal": data.get("last_refusal"),
    }


def approval(state: State, runtime: Runtime[Context], config: RunnableConfig, *, services: Services) -> dict[str, Any]:
    """Pause with the approval request; on resume, run, keep waiting, or drop the call as judged."""
    response: ApprovalResponse = interrupt(approval_request(state, config), response_schema=ApprovalResponse)
    decision = response.decisions[0]
    call, auth = state["pending_calls"][0], dict(state["authorization"] or {})
    data, principal, approver = dict(auth["data"]), state["principal"], runtime.context
    pending = PendingAction(tool_name=call["name"], tool_call_id=call["id"], thread_id=thread_id_of(config),
                            args=data["args"], digest=data["digest"], rule_id=data["rule_id"],
                            expires_at=data["expires_at"], requester_id=principal["user_id"],
                            requester_role=Role(principal["role"]), approvals=tuple(data.get("approvals", [])))
    judged = judge_decision(decision=decision, pending=pending, approver_id=approver.user_id,
                            approver_role=Role(approver.role), now=services.clock(), tools=services.tools,
                            config=services.config.approval)
    event = make_event("approval", "approval_expired" if judged.outcome == "expired" else "approval_decision",
                       state, runtime, config, judged.verdict, tool_name=call["name"], tool_call_id=call["id"],
                       approver_id=approver.user_id, success=judged.outcome == "approved",
                       input={"decision": decision.type, "outcome": judged.outcome, "request_digest": pending.digest,
                              "digest": judged.digest, "args": judged.args, "approvals": list(judged.approvals)})
    clock = state.get("run_clock")
    resumed = {"run_clock": {**clock, "last_at": services.clock()}} if clock else {}  # waiting is not working time
    if judged.outcome in ("rejected", "expired"):
        why = (f"the approval request expired unanswered ({data['rule_id']})" if judged.outcome == "expired"
               else f"rejected by {approver.user_id}: {judged.verdict.detail}")
        msg = ToolMessage(content=f"Not run: {why}.", tool_call_id=call["id"],
                          name=call["name"], status="error")
        return {"messages": [msg], "pending_calls": state["pending_calls"][1:], "authorization": None,
                "audit_events": [event], **resumed}
    data.update(args=judged.args, digest=judged.digest, rule_id=judged.rule_id, approvals=list(judged.approvals),
                last_refusal=None if judged.outcome != "refused"
                else f"{judged.verdict.reason_code.value}: {judged.verdict.detail}")
    if judged.outcome == "approved":
        data.update(approved_by=approver.user_id, decision=decision.type)
    return {"authorization": {**auth, "data": data}, "audit_events": [event], **resumed}
