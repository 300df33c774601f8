"""Node: pause for people before a call that needs approval, and apply their decisions.

Nothing here has a side effect before `interrupt()`: the node re-runs from its start on resume.
The approver is whoever resumes (`nodes._identity.caller_of`: the server's authenticated principal,
or the trusted Python caller's context); `policies.approval_decision` judges
the decision (expiry, digest, authority, quorum, edits). A decision that does not run or drop
the call leaves it pending: the route goes through `audit` and back here, to a fresh interrupt.
So does a resume that cannot be read (`read_response`): raising would put a server thread in
`error`. `respond` drops the call with the person's guarded reply as its result.
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
from safe_agent.nodes._approval_ledger import drop_call
from safe_agent.nodes._common import head_call, make_event, no_call_update
from safe_agent.nodes._identity import caller_of, recorded_decision
from safe_agent.nodes._review import (
    apply_batch,
    apply_on_record,
    approval_request,
    judge_one,
    open_batch,
    with_edits,
)
from safe_agent.nodes._switches import void_halt
from safe_agent.policies.approval import RESPONSE_SCHEMA, read_response
from safe_agent.policies.verdict import ReasonCode, deny


def approval(
    state: State, runtime: Runtime[Context], config: RunnableConfig, *, services: Services
) -> dict[str, Any]:
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
    requester = (
        services.runs.run_principal(thread_id=record.thread_id, run_id=record.run_id)
        if record
        else None
    )
    answered = ("approved", "rejected", "expired", "responded")
    if record is not None and requester is not None and record.status in answered:
        return apply_on_record(state, runtime, config, record, auth, services.clock())
    if record is None or requester is None or record.status not in ("requested", "superseded"):
        verdict = deny(
            ReasonCode.NOT_AUTHORIZED_RECORD,
            "no approval request on record for this exact action",
            "approval.ledger",
        )
        event = make_event(
            "approval",
            "approval_decision",
            state,
            runtime,
            config,
            verdict,
            tool_name=call["name"],
            tool_call_id=call["id"],
            success=False,
            input={"outcome": "forged_state"},
        )
        return drop_call(state, event, "no approval request on record for this action", {})
    tier = services.tools[call["name"]].tier.value if call["name"] in services.tools else "unknown"
    batch = open_batch(state, config, services)
    request = approval_request(state, config, record, tier, batch)
    raw = interrupt(request, response_schema=RESPONSE_SCHEMA)  # shown to clients, not enforced
    decisions, read = read_response(raw, shown=1 + len(batch))  # unreadable: refused, asked again
    clock = state.get("run_clock")
    resumed = (
        {"run_clock": {**clock, "last_at": services.clock()}} if clock else {}
    )  # waiting is not working time
    who, approver = caller_of(runtime, config, services)
    approver_id = approver.user_id if approver else None
    judged = judge_one(
        record, requester, call, data["args"], decisions[0], approver, who, config, services, read
    )
    later = apply_batch(batch, decisions[1:], approver, who, config, services)
    kind = "approval_expired" if judged.outcome == "expired" else "approval_decision"
    events = [
        make_event(
            "approval",
            kind,
            state,
            runtime,
            config,
            j.verdict,
            tool_name=c["name"],
            tool_call_id=c["id"],
            approver_id=approver_id,
            success=j.outcome == "approved",
            input={
                "decision": d.type if d else None,
                "outcome": j.outcome,
                "digest": j.digest,
                "request_digest": r_digest,
                "args": j.args,
                "approvals": list(j.approvals),
            },
        )
        for c, j, d, r_digest in [
            (call, judged, decisions[0], record.digest),
            *(
                ({"name": i["name"], "id": i["tool_call_id"]}, o, dd, i["digest"])
                for i, o, dd in later
            ),
        ]
    ]
    calls = with_edits(state["pending_calls"], later)
    if judged.outcome in ("rejected", "expired", "responded"):
        why = (
            f"the approval request expired unanswered ({record.rule_id})"
            if judged.outcome == "expired"
            else f"rejected by {approver_id}: {judged.verdict.detail}"
        )
        rest = {**state, "pending_calls": calls}
        dropped = drop_call(rest, events[0], why, resumed, judged.reply)
        return {**dropped, "audit_events": events}
    data.update(
        args=judged.args,
        digest=judged.digest,
        rule_id=judged.rule_id,
        approvals=list(judged.approvals),
        last_refusal=None
        if judged.outcome != "refused"
        else f"{judged.verdict.reason_code.value}: {judged.verdict.detail}",
    )
    if judged.outcome == "approved":
        data.update(approved_by=approver_id, decision=decisions[0].type)
    return {
        "authorization": {**auth, "data": data},
        "audit_events": events,
        "pending_calls": calls,
        **resumed,
    }
