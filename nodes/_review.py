"""What an approver reviews: one interrupt for every call of a model turn that needs a person.

LangChain's HITL format is batched, and asking one question per call trains people to click
"approve" without reading. So when the head call needs approval, authorize also asks now for each
later call of the same turn that would need it (`batch_requests`): each gets its own request row
in the decision ledger, and the interrupt lists them all, head first. The resume carries one
decision per listed action (`apply_batch` answers the later rows). Nothing runs early: when a
later call's turn comes, authorize judges it again in full (kill switches, budgets, role,
provenance) and only a ledger row for exactly that digest carries the person's answer.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from safe_agent.graph.context import Context
from safe_agent.graph.services import Services
from safe_agent.graph.state import State
from safe_agent.nodes._approval_ledger import (
    drop_call,
    pending_action,
    record_decision,
    record_outcome,
)
from safe_agent.nodes._budget import check_tool_call_budget
from safe_agent.nodes._common import make_event, thread_id_of
from safe_agent.nodes._identity import Caller, decision_thread
from safe_agent.nodes._input import judge_messages
from safe_agent.nodes._pii import concealed, judge_on_values, pii_scope, protect_input, reveal_args
from safe_agent.nodes._provenance import with_provenance
from safe_agent.nodes._switches import call_targets
from safe_agent.policies.approval import DECISION_TYPES, action_digest
from safe_agent.policies.approval_decision import ApprovalOutcome, judge_decision
from safe_agent.policies.authorization import authorize_tool_call
from safe_agent.policies.kill_switch import check_kill_switches
from safe_agent.policies.verdict import Decision, ReasonCode, Role, Verdict, deny
from safe_agent.stores.decisions import DecisionRecord
from safe_agent.stores.runs import RunPrincipal

Judged = tuple[dict[str, Any], ApprovalOutcome, Any]


def call_verdict(
    call: dict[str, Any],
    requester: RunPrincipal | None,
    state: State,
    services: Services,
    scope: str = "",
) -> Verdict:
    """Authorize one proposed call: kill switches (tool, tenant, user, writes, proposing model),
    tool budget, role and tier (on the real values behind the thread's PII tokens, `scope`, while
    the verdict keeps the tokens: `nodes._pii`), then provenance."""
    if requester is None:
        return deny(
            ReasonCode.FORGED_STATE,
            "this run has no recorded requester; nothing may run",
            "authorize.requester",
        )
    # read on every call, never cached: every process sees a switch at once
    verdict = check_kill_switches(
        targets=call_targets(
            state, services, call, tenant=requester.tenant, user_id=requester.user_id
        ),
        active=services.switches.active(),
    )
    if verdict.allowed:
        verdict = check_tool_call_budget(state, services, str(call["name"]))
    revealed = reveal_args(services, scope, call["args"]) if verdict.allowed else verdict
    if isinstance(revealed, Verdict):
        verdict = revealed
    else:
        verdict = concealed(
            services,
            scope,
            authorize_tool_call(
                tool_name=str(call["name"]),
                args=revealed[0],
                role=Role(requester.role)
                if requester.role in {"read", "write", "admin"}
                else Role.READ,
                tools=services.tools,
                approval=services.config.approval,
            ),
            revealed[1],
        )
    return with_provenance(verdict, call, state, services)


def request_data(
    verdict: Verdict, call: dict[str, Any], config: RunnableConfig, services: Services
) -> dict[str, Any]:
    """Return the authorization for an allowed or asked call, bound to its action digest."""
    auth = verdict.to_dict()
    auth["data"]["digest"] = action_digest(
        tool_name=str(call["name"]),
        args=auth["data"]["args"],
        thread_id=thread_id_of(config),
        tool_call_id=call["id"],
        policy_version=services.config.approval.version,
    )
    if verdict.decision is Decision.ASK_APPROVAL:
        now = services.clock()
        auth["data"].update(
            requested_at=now, expires_at=now + float(auth["data"]["ttl_s"]), approvals=[]
        )
    return auth


def batch_requests(
    state: State, config: RunnableConfig, services: Services, requester: RunPrincipal
) -> list[dict[str, Any]]:
    """Ask now for every later call of this turn that needs approval; return what to show."""
    items = []
    for call in state["pending_calls"][1:]:
        verdict = call_verdict(call, requester, state, services, pii_scope(state, config))
        if verdict.decision is not Decision.ASK_APPROVAL:
            continue
        auth = request_data(verdict, call, config, services)
        record_decision(state, config, services, call, auth, requester.user_id)
        data = auth["data"]
        items.append(
            {
                "tool_call_id": call["id"],
                "name": call["name"],
                "args": data["args"],
                "digest": data["digest"],
                "tier": data.get("tier"),
                "provenance": data.get("provenance") or [],
                "provenance_note": data.get("provenance_note"),
            }
        )
    return items


def open_batch(
    state: State, config: RunnableConfig, services: Services
) -> list[tuple[dict, DecisionRecord]]:
    """The batch items that still have an open request in the ledger (state is only a pointer)."""
    data = (state.get("authorization") or {}).get("data") or {}
    items = data.get("batch") if isinstance(data.get("batch"), list) else []
    found = []
    for item in items:
        if not isinstance(item, dict):
            continue
        digest = action_digest(
            tool_name=str(item.get("name")),
            args=item.get("args"),
            thread_id=thread_id_of(config),
            tool_call_id=item.get("tool_call_id"),
            policy_version=services.config.approval.version,
        )
        record = services.decisions.get(
            thread_id=decision_thread(state, config),
            tool_call_id=str(item.get("tool_call_id")),
            digest=digest,
        )
        if (
            record is not None
            and record.status == "requested"
            and record.tool_name == item.get("name")
        ):
            found.append((item, record))
    return found


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def _describe(name: str, tier: Any, requester: str, note: str | None) -> str:
    text = f"{name} ({tier}) requested by {requester}"
    return f"{text}. Warning: {note}; see provenance" if note else text


def approval_request(
    state: State,
    config: RunnableConfig,
    record: DecisionRecord,
    tier: str,
    batch: list[tuple[dict, DecisionRecord]],
) -> dict[str, Any]:
    """Build the interrupt value: LangChain's HITL format (one action per call) plus the binding.

    The rule, quorum, votes, expiry and requester shown are the ledger's, not state's.
    """
    call, data = state["pending_calls"][0], (state.get("authorization") or {}).get("data") or {}
    expires = float(record.expires_at or 0.0)
    head = {
        "name": call["name"],
        "args": data.get("args"),
        "description": _describe(
            call["name"], tier, record.requester_id, data.get("provenance_note")
        ),
    }
    more = [
        {
            "name": i["name"],
            "args": i["args"],
            "description": _describe(
                i["name"], i.get("tier"), r.requester_id, i.get("provenance_note")
            ),
        }
        for i, r in batch
    ]
    return {
        "kind": "approval",
        "action_requests": [head, *more],
        "review_configs": [
            {"action_name": a["name"], "allowed_decisions": list(DECISION_TYPES)}
            for a in [head, *more]
        ],
        "tool_call_id": call["id"],
        "action_digest": record.digest,
        "tier": tier,
        "rule_id": record.rule_id,
        "quorum": record.quorum,
        "approvals": list(record.approvals),
        "approver_role": record.approver_role,
        "approver_groups": list(record.approver_groups),
        "requested_at": _iso(float(data.get("requested_at") or expires)),
        "expires_at": _iso(expires),
        "expires_at_epoch": expires,
        "thread_id": thread_id_of(config),
        "requested_by": record.requester_id,
        "cost_so_far_usd": state.get("cost_usd", 0.0),
        "last_refusal": data.get("last_refusal"),
        "provenance": data.get("provenance") or [],
        "batch": [
            {
                "tool_call_id": i["tool_call_id"],
                "action_digest": r.digest,
                "rule_id": r.rule_id,
                "quorum": r.quorum,
                "provenance": i.get("provenance") or [],
            }
            for i, r in batch
        ],
    }


def judge_one(
    record: DecisionRecord,
    requester: RunPrincipal,
    call: dict[str, Any],
    args: Any,
    decision: Any,
    approver: Caller | None,
    who: Verdict,
    config: RunnableConfig,
    services: Services,
    unread: Verdict | None = None,
) -> ApprovalOutcome:
    """Judge one decision against its ledger request and write the outcome to the ledger.

    `decision` is None when the resume could not be read; `unread` says why (`read_response`).
    """
    pending = pending_action(record, requester, call, args, config, approver)  # type: ignore[arg-type]
    if approver is None or decision is None:
        refusal = (
            who
            if decision is not None
            else unread
            or deny(
                ReasonCode.DECISION_COUNT,
                "send one decision per action shown, in the order shown",
                "approval.batch",
            )
        )
        outcome = ApprovalOutcome(
            "refused", refusal, pending.args, pending.digest, pending.rule_id, pending.approvals
        )
        return outcome
    person, scope = approver, thread_id_of(config) or record.run_id
    outcome = judge_on_values(  # an edit is judged on the real values behind its PII tokens
        services,
        scope,
        decision,
        pending,
        lambda d: judge_decision(
            decision=d,
            pending=pending,
            approver_id=person.user_id,
            approver_role=Role(person.role),
            now=services.clock(),
            tools=services.tools,
            config=services.config.approval,
            approver_groups=person.groups,
        ),
    )
    guarded = guarded_reply(services, scope, outcome)
    return record_outcome(services, record, guarded, approver.user_id)


def guarded_reply(services: Services, scope: str, outcome: ApprovalOutcome) -> ApprovalOutcome:
    """A `respond` reply as the model may read it: judged by the input guard and `[input.pii]`
    exactly as a user's message is (`nodes._input.judge_messages`); a refused one leaves the
    request open, so the person can answer again."""
    if outcome.outcome != "responded" or outcome.reply is None:
        return outcome
    rules = services.config.input
    verdict, rewrites, _, _ = judge_messages(
        [HumanMessage(content=outcome.reply)],
        rules.max_chars,
        services.detector,
        rules.detector_threshold,
        partial(protect_input, services, scope),
    )
    if not verdict.allowed:
        return replace(outcome, outcome="refused", verdict=verdict, reply=None)
    return replace(outcome, reply=str(rewrites[0].content) if rewrites else outcome.reply)


def apply_on_record(
    state: State,
    runtime: Runtime[Context],
    config: RunnableConfig,
    record: DecisionRecord,
    auth: dict[str, Any],
    now: float,
) -> dict[str, Any]:
    """Apply an answer already in the ledger (a batch review, or this node before a crash): run
    it, or drop the call (for `responded`, with the reply the ledger kept)."""
    call, approved = state["pending_calls"][0], record.status == "approved"
    clock = state.get("run_clock")
    resumed = {"run_clock": {**clock, "last_at": now}} if clock else {}  # the wait was not work
    code = ReasonCode.RESPONDED if record.status == "responded" else ReasonCode.REJECTED
    rule = f"approval.{record.rule_id}"
    verdict = (
        Verdict(Decision.ALLOW, ReasonCode.APPROVED, "answered in review", rule)
        if approved
        else deny(code, f"{record.status} in review", rule)
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
        approver_id=record.decided_by,
        success=approved,
        input={"outcome": f"{record.status}_on_record", "digest": record.digest},
    )
    if not approved:
        reply = (record.reason or "") if record.status == "responded" else None
        why = f"{record.status} by {record.decided_by} in review"
        return drop_call(state, event, why, resumed, reply)
    data = {
        **auth["data"],
        "approved_by": record.decided_by,
        "decision": "approve",
        "approvals": list(record.approvals),
    }
    return {"authorization": {**auth, "data": data}, "audit_events": [event], **resumed}


def apply_batch(
    batch: list[tuple[dict, DecisionRecord]],
    decisions: list[Any],
    approver: Caller | None,
    who: Verdict,
    config: RunnableConfig,
    services: Services,
) -> list[Judged]:
    """Answer each later call's ledger request with its decision (in the order shown)."""
    judged: list[Judged] = []
    for (item, record), decision in zip(batch, decisions, strict=True):
        requester = services.runs.run_principal(thread_id=record.thread_id, run_id=record.run_id)
        if requester is None or decision is None:
            continue
        call = {"name": item["name"], "id": item["tool_call_id"], "args": item["args"]}
        judged.append(
            (
                item,
                judge_one(
                    record, requester, call, item["args"], decision, approver, who, config, services
                ),
                decision,
            )
        )
    return judged


def with_edits(calls: list[dict[str, Any]], judged: list[Judged]) -> list[dict[str, Any]]:
    """Return the pending calls with the approver's edits applied to later calls of the batch."""
    edits = {
        i["tool_call_id"]: o.args
        for i, o, _ in judged
        if o.outcome in ("approved", "pending") and o.digest != i["digest"]
    }
    return [{**c, "args": edits[c["id"]]} if c["id"] in edits else c for c in calls]
