"""Judge a decision on a pending approval: expiry, digest binding, authority, quorum, edits.

Pure: the pending request, the decision, the approver (from the resume's runtime context) and
`now` go in; an `ApprovalOutcome` comes out. The node applies it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from safe_agent.policies.approval import (
    AnyDecision,
    ApproveDecision,
    EditDecision,
    RejectDecision,
    RespondDecision,
    action_digest,
    check_approver,
    decide_approval,
    rule_by_id,
)
from safe_agent.policies.authorization import ToolRule, authorize_tool_call
from safe_agent.policies.config import ApprovalConfig
from safe_agent.policies.verdict import Decision, ReasonCode, Role, Verdict, deny

Outcome = Literal["approved", "pending", "refused", "rejected", "expired", "responded"]


@dataclass(frozen=True, slots=True)
class PendingAction:
    """What is waiting for approval, as `authorize` recorded it."""

    tool_name: str
    tool_call_id: str
    thread_id: str
    args: dict[str, Any]
    digest: str
    rule_id: str
    expires_at: float
    requester_id: str
    requester_role: Role
    approvals: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ApprovalOutcome:
    """What the decision does: run (approved), wait (pending/refused), or drop the call
    (rejected/expired; responded: the person's `reply` stands in for the call's result)."""

    outcome: Outcome
    verdict: Verdict
    args: dict[str, Any]
    digest: str
    rule_id: str
    approvals: tuple[str, ...] = field(default_factory=tuple)
    reply: str | None = None
    """For `responded`: the message the model gets as the call's result (as the node guarded it)."""


def _stay(pending: PendingAction, verdict: Verdict) -> ApprovalOutcome:
    return ApprovalOutcome(
        "refused", verdict, pending.args, pending.digest, pending.rule_id, pending.approvals
    )


def _count(
    pending: PendingAction,
    rule_id: str,
    args: dict[str, Any],
    digest: str,
    approvals: tuple[str, ...],
    quorum: int,
    code: ReasonCode,
) -> ApprovalOutcome:
    if len(approvals) >= quorum:
        return ApprovalOutcome(
            "approved",
            Verdict(Decision.ALLOW, code, "", f"approval.{rule_id}"),
            args,
            digest,
            rule_id,
            approvals,
        )
    verdict = Verdict(
        Decision.ASK_APPROVAL,
        ReasonCode.QUORUM_PENDING,
        f"{len(approvals)} of {quorum} approvals",
        f"approval.{rule_id}.quorum",
    )
    return ApprovalOutcome("pending", verdict, args, digest, rule_id, approvals)


def judge_decision(
    *,
    decision: AnyDecision,
    pending: PendingAction,
    approver_id: str,
    approver_role: Role,
    now: float,
    tools: Mapping[str, ToolRule],
    config: ApprovalConfig,
    approver_groups: tuple[str, ...] = (),
) -> ApprovalOutcome:
    """Apply one decision to a pending action; anything unexpected refuses (the call stays paused).

    `approver_groups` are the groups the approver's principal belongs to (principal directory);
    they count beside the id lists of `[approval.groups]` in the config.
    """
    try:
        groups = {**config.groups}
        for group in approver_groups:
            groups[group] = (*groups.get(group, ()), approver_id)
        config = config.model_copy(update={"groups": groups}) if approver_groups else config
        return _judge(decision, pending, approver_id, approver_role, now, tools, config)
    except Exception as exc:  # noqa: BLE001 - fail closed: nothing runs, the thread stays paused
        return _stay(
            pending,
            deny(
                ReasonCode.POLICY_ERROR,
                f"approval check failed: {type(exc).__name__}",
                "approval.judge",
            ),
        )


def _judge(
    decision: AnyDecision,
    pending: PendingAction,
    approver_id: str,
    approver_role: Role,
    now: float,
    tools: Mapping[str, ToolRule],
    config: ApprovalConfig,
) -> ApprovalOutcome:
    if now >= pending.expires_at:
        verdict = deny(
            ReasonCode.APPROVAL_EXPIRED,
            "the approval request expired before a decision arrived",
            f"approval.{pending.rule_id}.ttl",
        )
        return ApprovalOutcome(
            "expired", verdict, pending.args, pending.digest, pending.rule_id, pending.approvals
        )
    if decision.action_digest is not None and decision.action_digest != pending.digest:
        return _stay(
            pending,
            deny(
                ReasonCode.DIGEST_MISMATCH,
                "the decision is for a different action",
                "approval.digest",
            ),
        )
    rule = rule_by_id(pending.rule_id, config)
    who = check_approver(
        rule=rule,
        requester_id=pending.requester_id,
        approver_id=approver_id,
        approver_role=approver_role,
        groups=config.groups,
        prior_approvers=pending.approvals,
    )
    if not who.allowed:
        return _stay(pending, who)
    if isinstance(decision, RejectDecision):
        verdict = Verdict(
            Decision.DENY,
            ReasonCode.REJECTED,
            decision.message or "rejected",
            f"approval.{rule.id}",
        )
        return ApprovalOutcome(
            "rejected", verdict, pending.args, pending.digest, rule.id, pending.approvals
        )
    if isinstance(decision, RespondDecision):  # like a reject: one person's answer settles it
        verdict = Verdict(
            Decision.DENY,
            ReasonCode.RESPONDED,
            "answered by a person in the tool's place",
            f"approval.{rule.id}",
        )
        return ApprovalOutcome(
            "responded",
            verdict,
            pending.args,
            pending.digest,
            rule.id,
            pending.approvals,
            reply=decision.message,
        )
    if isinstance(decision, ApproveDecision):
        return _count(
            pending,
            rule.id,
            pending.args,
            pending.digest,
            (*pending.approvals, approver_id),
            rule.quorum,
            ReasonCode.APPROVED,
        )
    return _judge_edit(decision, pending, approver_id, approver_role, tools, config)


def _judge_edit(
    decision: EditDecision,
    pending: PendingAction,
    approver_id: str,
    approver_role: Role,
    tools: Mapping[str, ToolRule],
    config: ApprovalConfig,
) -> ApprovalOutcome:
    if decision.edited_action.name != pending.tool_name:
        return _stay(
            pending,
            deny(
                ReasonCode.EDIT_ESCALATES,
                "an edit may change the arguments, not the tool",
                "approval.edit",
            ),
        )
    again = authorize_tool_call(
        tool_name=pending.tool_name,
        args=decision.edited_action.args,
        role=pending.requester_role,
        tools=tools,
        approval=config,
    )
    if again.decision is Decision.DENY:
        return _stay(pending, again)
    args = again.data["args"]
    digest = action_digest(
        tool_name=pending.tool_name,
        args=args,
        thread_id=pending.thread_id,
        tool_call_id=pending.tool_call_id,
        policy_version=config.version,
    )
    needs = decide_approval(
        tool_name=pending.tool_name, tier=tools[pending.tool_name].tier, args=args, config=config
    )
    if needs.decision is Decision.ALLOW:
        return ApprovalOutcome(
            "approved",
            Verdict(Decision.ALLOW, ReasonCode.EDITED, "", needs.policy_id),
            args,
            digest,
            pending.rule_id,
            (approver_id,),
        )
    new_rule = rule_by_id(needs.data["rule_id"], config)
    who = check_approver(
        rule=new_rule,
        requester_id=pending.requester_id,
        approver_id=approver_id,
        approver_role=approver_role,
        groups=config.groups,
    )
    if not who.allowed:
        return _stay(pending, who)
    return _count(
        pending, new_rule.id, args, digest, (approver_id,), new_rule.quorum, ReasonCode.EDITED
    )
