"""The decision ledger as the nodes use it: record a decision, find the request, write the outcome.

The request an approver answers is the ledger's row for the digest of the arguments in state;
its rule, expiry, requester and votes come from the ledger, never from state.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import ToolMessage, add_notification_metadata
from langchain_core.runnables import RunnableConfig

from safe_agent.graph.services import Services
from safe_agent.graph.state import PendingCall, State
from safe_agent.nodes._common import thread_id_of
from safe_agent.nodes._identity import Caller, decision_thread, recorded_decision
from safe_agent.nodes._switches import call_facts
from safe_agent.policies.approval import rule_by_id
from safe_agent.policies.approval_decision import ApprovalOutcome, PendingAction
from safe_agent.policies.identity import same_person
from safe_agent.policies.verdict import Decision, ReasonCode, Role, deny
from safe_agent.stores.decisions import DecisionRecord
from safe_agent.stores.runs import RunPrincipal

_ANSWERABLE = ("requested", "approved", "superseded")
"""Open, or already answered by this very decision before a crash (the node is being replayed)."""


def request_on_record(
    state: State,
    config: RunnableConfig,
    services: Services,
) -> DecisionRecord | None:
    """The ledger's open request for exactly the action in state, or None (state was forged)."""
    record = recorded_decision(state, config, services)
    return record if record is not None and record.status in _ANSWERABLE else None


def votes_before(record: DecisionRecord, approver: Caller | None) -> tuple[str, ...]:
    """Votes to judge against: on a replay, this approver's own vote is already in the ledger."""
    if record.status == "requested" or approver is None:
        return record.approvals
    return tuple(a for a in record.approvals if not same_person(a, approver.user_id))


def pending_action(
    record: DecisionRecord,
    requester: RunPrincipal,
    call: PendingCall,
    args: Any,
    config: RunnableConfig,
    approver: Caller | None,
) -> PendingAction:
    """The action to judge, as the ledger records it (state supplies only the arguments)."""
    return PendingAction(
        tool_name=call["name"],
        tool_call_id=call["id"],
        thread_id=thread_id_of(config),
        args=args,
        digest=record.digest,
        rule_id=record.rule_id or "",
        expires_at=float(record.expires_at or 0.0),
        requester_id=record.requester_id,
        requester_role=Role(requester.role),
        approvals=votes_before(record, approver),
    )


def record_outcome(
    services: Services, record: DecisionRecord, judged: ApprovalOutcome, approver_id: str | None
) -> ApprovalOutcome:
    """Write the judged outcome to the ledger; an approval the ledger refuses becomes a refusal."""
    if judged.outcome == "approved" and not services.decisions.record_approved(
        request=record,
        digest=judged.digest,
        approvals=judged.approvals,
        decided_by=approver_id or "",
        now=services.clock(),
    ):
        return ApprovalOutcome(
            "refused",
            deny(
                ReasonCode.NOT_AUTHORIZED_RECORD, "the request is no longer open", "approval.ledger"
            ),
            judged.args,
            record.digest,
            record.rule_id or "",
            record.approvals,
        )
    elif judged.outcome == "pending" and judged.digest != record.digest:  # edited into another rule
        rule = rule_by_id(judged.rule_id, services.config.approval)
        services.decisions.record_edited_request(
            request=record,
            digest=judged.digest,
            rule_id=rule.id,
            approver_role=rule.approver_role.value,
            approver_groups=rule.approver_groups,
            quorum=rule.quorum,
            approvals=judged.approvals,
            now=services.clock(),
        )
    elif judged.outcome == "pending":
        services.decisions.record_votes(
            thread_id=record.thread_id,
            tool_call_id=record.tool_call_id,
            digest=record.digest,
            approvals=judged.approvals,
        )
    elif judged.outcome in ("rejected", "expired", "responded"):  # a reply is kept for a replay
        services.decisions.close(
            thread_id=record.thread_id,
            tool_call_id=record.tool_call_id,
            digest=record.digest,
            status=judged.outcome,
            decided_by=approver_id,
            now=services.clock(),
            reason=judged.reply,
        )
    return judged


def drop_call(
    state: State,
    event: dict[str, Any],
    text: str,
    resumed: dict[str, Any],
    reply: str | None = None,
) -> dict[str, Any]:
    """Answer the head call with "Not run: ..." (or, for `respond`, with the person's `reply`, as
    LangChain's HITL middleware does) and move on; the event says why."""
    call = state["pending_calls"][0]
    if reply is None:
        msg = ToolMessage(
            content=f"Not run: {text}.", tool_call_id=call["id"], name=call["name"], status="error"
        )
    else:
        msg = add_notification_metadata(
            ToolMessage(
                content=reply, tool_call_id=call["id"], name=call["name"], status="success"
            ),
            source="hitl_interrupt_decision",
            data={"decision": "respond"},
        )
    return {
        "messages": [msg],
        "pending_calls": state["pending_calls"][1:],
        "authorization": None,
        "audit_events": [event],
        **resumed,
    }


def record_decision(
    state: State,
    config: RunnableConfig,
    services: Services,
    call: dict[str, Any],
    auth: dict[str, Any],
    requester_id: str,
) -> None:
    """Write the decision to the ledger: `execute_tool` runs nothing the ledger does not show."""
    data = auth["data"]
    common = {
        "thread_id": decision_thread(state, config),
        "tool_call_id": str(call["id"]),
        "digest": data["digest"],
        "tool_name": str(call["name"]),
        "run_id": str(state.get("run_id") or ""),
        "requester_id": requester_id,
        "now": services.clock(),
        **call_facts(state, config, services, call),  # what a later kill switch is matched on
    }
    if auth["decision"] == Decision.ALLOW.value:
        services.decisions.record_allowed(**common)
        return
    services.decisions.record_request(
        **common,
        rule_id=data["rule_id"],
        approver_role=data["approver_role"],
        approver_groups=data.get("approver_groups", []),
        quorum=int(data["quorum"]),
        expires_at=float(data["expires_at"]),
    )
