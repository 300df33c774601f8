"""Node: pause for people before a call that needs approval, and apply their decisions.

Nothing here has a side effect before `interrupt()`: the node re-runs from its start on resume.
The approver is whoever resumes (`nodes._identity.caller_of`: the server's authenticated principal,
or the trusted Python caller's context); `policies.approval_decision` judges
the decision (expiry, digest, authority, quorum, edits). A decision that does not run or drop
the call leaves it pending: the route goes through `audit` and back here, to a fresh interrupt.
Later calls of the same model turn are reviewed in the same interrupt (`nodes._review`); when
their turn comes, the ledger already holds the answer and this node does not ask again.
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from safe_agent.graph.context import Context
from safe_agent.graph.services import Services
from safe_agent.graph.state import State
from safe_agent.nodes._common import head_call, make_event, no_call_update
from safe_agent.nodes._approval_ledger import drop_call
from safe_agent.nodes._identity import caller_of, recorded_decision
from safe_agent.nodes._review import apply_batch, approval_request, judge_one, open_batch, with_edits
from safe_agent.nodes._switches import void_halt
from safe_agent.policies.approval import ApprovalResponse
from safe_agent.policies.verdict import Decision, ReasonCode, Verdict, deny


def _decided(state: State, runtime: Runtime[Context], config: RunnableConfig, record: Any,
             auth: dict[str, Any], now: float) -> dict[str, Any]:
    """Apply an answer already in the ledger (a batch review, or this node before a crash)."""
    call, approved = state["pending_calls"][0], record.status == "approved"
    clock = state.get("run_clock")
    resumed = {"run_clock": {**clock, "last_at": now}} if clock else {}  # the wait was not work
    verdict = (Verdict(Decision.ALLOW, ReasonCode.APPROVED, "answered in review", f"approval.{record.rule_id}")
               if approved else deny(ReasonCode.REJECTED, f"{record.status} in review", f"approval.{record.rule_id}"))
    event = make_event("approval", "approval_decision", state, runtime, config, verdict, tool_name=call["name"],
                       tool_call_id=call["id"], approver_id=record.decided_by, success=approved,
                       input={"outcome": f"{record.status}_on_record", "digest": record.digest})
    if not approved:
        return drop_call(state, event, f"{record.status} by {record.decided_by} in review", resumed)
    data = {**auth["data"], "approved_by": record.decided_by, "decision": "approve",
            "approvals": list(record.approvals)}
    return {"authorization": {**auth, "data": data}, "audit_events": [event], **resumed}


def approval(state: State, runtime: Runtime[Context], config: RunnableConfig, *, services: Services) -> dict[str, Any]:
    """Pause with the approval request; on resume, run, keep waiting, or drop the call as judged.

    The request judged is the one in the decision ledger (rule, expiry, requester, votes so far),
    found by the digest of the arguments in state: state that was edited to look like a pending
    request, or to carry other arguments, has no ledger row and is dropped, never approved. A
    request a kill switch voided (or covers now) ends the run, whatever the resume says.
    """
    call, auth = head_call(state), state.get("authorization")
    if call is None or not isinstance(auth, dict) or not isinstance(auth.get("data"), dict):
        return no_call_update("approval", state, runtime, config)
    data = dict(auth["data"])
    record = recorded_decision(state, config, services)
    voided = void_halt(state, runtime, config, services, record)  # a kill switch: never approvable
    if voided is not None:
        return voided
    requester = services.runs.run_principal(thread_id=record.thread_id, run_id=record.run_id) if record else None
    if record is not None and requester is not None and record.status in ("approved", "rejected", "expired"):
        return _decided(state, runtime, config, record, auth, services.clock())
    if record is None or requester is None or record.status not in ("requested", "superseded"):
        verdict = deny(ReasonCode.NOT_AUTHORIZED_RECORD, "no approval request on record for this exact action",
                       "approval.ledger")
        event = make_event("approval", "approval_decision", state, runtime, config, verdict, tool_name=call["name"],
                           tool_call_id=call["id"], success=False, input={"outcome": "forged_state"})
        return drop_call(state, event, "no approval request on record for this action", {})
    tier = services.tools[call["name"]].tier.value if call["name"] in services.tools else "unknown"
    batch = open_batch(state, config, services)
    response: ApprovalResponse = interrupt(approval_request(state, config, record, tier, batch),
                                           response_schema=ApprovalResponse)
    decisions = list(response.decisions) if len(response.decisions) == 1 + len(batch) else [None] * (1 + len(batch))
    clock = state.get("run_clock")
    resumed = {"run_clock": {**clock, "last_at": services.clock()}} if clock else {}  # waiting is not working time
    who, approver = caller_of(runtime, config, services)
    approver_id = approver.user_id if approver else None
    judged = judge_one(record, requester, call, data["args"], decisions[0], approver, who, config, services)
    later = apply_batch(batch, decisions[1:], approver, who, config, services)
    kind = "approval_expired" if judged.outcome == "expired" else "approval_decision"
    events = [make_event("approval", kind, state, runtime, config, j.verdict, tool_name=c["name"],
                         tool_call_id=c["id"], approver_id=approver_id, success=j.outcome == "approved",
                         input={"decision": d.type if d else None, "outcome": j.outcome, "digest": j.digest,
                                "request_digest": r_digest, "args": j.args, "approvals": list(j.approvals)})
              for c, j, d, r_digest in [(call, judged, decisions[0], record.digest),
                                        *(({"name": i["name"], "id": i["tool_call_id"]}, o, dd, i["digest"])
                                          for i, o, dd in later)]]
    calls = with_edits(state["pending_calls"], later)
    if judged.outcome in ("rejected", "expired"):
        why = (f"the approval request expired unanswered ({record.rule_id})" if judged.outcome == "expired"
               else f"rejected by {approver_id}: {judged.verdict.detail}")
        dropped = drop_call({**state, "pending_calls": calls}, events[0], why, resumed)
        return {**dropped, "audit_events": events}
    data.update(args=judged.args, digest=judged.digest, rule_id=judged.rule_id, approvals=list(judged.approvals),
                last_refusal=None if judged.outcome != "refused"
                else f"{judged.verdict.reason_code.value}: {judged.verdict.detail}")
    if judged.outcome == "approved":
        data.update(approved_by=approver_id, decision=decisions[0].type)
    return {"authorization": {**auth, "data": data}, "audit_events": events, "pending_calls": calls, **resumed}
