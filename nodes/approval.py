"""Node: pause for people before a call that needs approval, and apply their decisions.

Nothing here has a side effect before `interrupt()`: the node re-runs from its start on resume.
The approver is whoever resumes (`nodes._identity.caller_of`: the server's authenticated principal,
or the trusted Python caller's context); `policies.approval_decision` judges
the decision (expiry, digest, authority, quorum, edits). A decision that does not run or drop
the call leaves it pending: the route goes through `audit` and back here, to a fresh interrupt.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from graph.context import Context
from graph.services import Services
from graph.state import State
from nodes._common import head_call, make_event, no_call_update, thread_id_of
from nodes._approval_ledger import drop_call, pending_action, record_outcome, request_on_record
from stores.decisions import DecisionRecord
from nodes._identity import caller_of
from policies.approval import ApprovalResponse
from policies.approval_decision import ApprovalOutcome, judge_decision
from policies.verdict import ReasonCode, Role, deny


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def approval_request(state: State, config: RunnableConfig, record: DecisionRecord, tier: str) -> dict[str, Any]:
    """Build the interrupt value: LangChain's HITL format plus the binding, the rule and who asked.

    The rule, quorum, votes, expiry and requester shown are the ledger's, not state's.
    """
    call, data = state["pending_calls"][0], (state.get("authorization") or {}).get("data") or {}
    expires = float(record.expires_at or 0.0)
    described = f"{call['name']} ({tier}) requested by {record.requester_id}"
    if data.get("provenance_note"):
        described += f". Warning: {data['provenance_note']}; see provenance"
    return {
        "kind": "approval",
        "action_requests": [{"name": call["name"], "args": data.get("args"), "description": described}],
        "review_configs": [{"action_name": call["name"], "allowed_decisions": ["approve", "edit", "reject"]}],
        "tool_call_id": call["id"], "action_digest": record.digest, "tier": tier,
        "rule_id": record.rule_id, "quorum": record.quorum, "approvals": list(record.approvals),
        "approver_role": record.approver_role, "approver_groups": list(record.approver_groups),
        "requested_at": _iso(float(data.get("requested_at") or expires)), "expires_at": _iso(expires),
        "expires_at_epoch": expires, "thread_id": thread_id_of(config),
        "requested_by": record.requester_id, "cost_so_far_usd": state.get("cost_usd", 0.0),
        "last_refusal": data.get("last_refusal"),
        "provenance": data.get("provenance") or [],
    }


def approval(state: State, runtime: Runtime[Context], config: RunnableConfig, *, services: Services) -> dict[str, Any]:
    """Pause with the approval request; on resume, run, keep waiting, or drop the call as judged.

    The request judged is the one in the decision ledger (rule, expiry, requester, votes so far),
    found by the digest of the arguments in state: state that was edited to look like a pending
    request, or to carry other arguments, has no ledger row and is dropped, never approved.
    """
    call, auth = head_call(state), state.get("authorization")
    if call is None or not isinstance(auth, dict) or not isinstance(auth.get("data"), dict):
        return no_call_update("approval", state, runtime, config)
    data = dict(auth["data"])
    record = request_on_record(state, config, services)
    requester = services.runs.run_principal(thread_id=record.thread_id, run_id=record.run_id) if record else None
    if record is None or requester is None:  # state made to look like a request: never shown, never approved
        verdict = deny(ReasonCode.NOT_AUTHORIZED_RECORD, "no approval request on record for this exact action",
                       "approval.ledger")
        event = make_event("approval", "approval_decision", state, runtime, config, verdict, tool_name=call["name"],
                           tool_call_id=call["id"], success=False, input={"outcome": "forged_state"})
        return drop_call(state, event, "no approval request on record for this action", {})
    tier = services.tools[call["name"]].tier.value if call["name"] in services.tools else "unknown"
    response: ApprovalResponse = interrupt(approval_request(state, config, record, tier),
                                           response_schema=ApprovalResponse)
    decision = response.decisions[0]
    clock = state.get("run_clock")
    resumed = {"run_clock": {**clock, "last_at": services.clock()}} if clock else {}  # waiting is not working time
    who, approver = caller_of(runtime, config, services)
    pending = pending_action(record, requester, call, data["args"], config, approver)
    if approver is None:
        judged = ApprovalOutcome("refused", who, pending.args, pending.digest, pending.rule_id, pending.approvals)
    else:
        judged = judge_decision(decision=decision, pending=pending, approver_id=approver.user_id,
                                approver_role=Role(approver.role), now=services.clock(), tools=services.tools,
                                config=services.config.approval, approver_groups=approver.groups)
    approver_id = approver.user_id if approver else None
    judged = record_outcome(services, record, judged, approver_id)
    event = make_event("approval", "approval_expired" if judged.outcome == "expired" else "approval_decision",
                       state, runtime, config, judged.verdict, tool_name=call["name"], tool_call_id=call["id"],
                       approver_id=approver_id, success=judged.outcome == "approved",
                       input={"decision": decision.type, "outcome": judged.outcome, "request_digest": pending.digest,
                              "digest": judged.digest, "args": judged.args, "approvals": list(judged.approvals)})
    if judged.outcome in ("rejected", "expired"):
        why = (f"the approval request expired unanswered ({pending.rule_id})" if judged.outcome == "expired"
               else f"rejected by {approver_id}: {judged.verdict.detail}")
        return drop_call(state, event, why, resumed)
    data.update(args=judged.args, digest=judged.digest, rule_id=judged.rule_id, approvals=list(judged.approvals),
                last_refusal=None if judged.outcome != "refused"
                else f"{judged.verdict.reason_code.value}: {judged.verdict.detail}")
    if judged.outcome == "approved":
        data.update(approved_by=approver_id, decision=decision.type)
    return {"authorization": {**auth, "data": data}, "audit_events": [event], **resumed}
