"""Decide which calls need approval, whose decision counts, and bind decisions to one exact action.

Approval is an authorisation boundary here. The operator's rules (first match wins) say which
calls need approval (by tool, tier and argument), who may approve (least role, named groups),
how many distinct approvers (quorum) and for how long the request is valid. Every request
carries a digest of the canonical action; a decision counts only for that digest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from safe_agent.policies.config import ApprovalConfig, ApprovalRule, ArgCondition
from safe_agent.policies.identity import canonical_id, same_person
from safe_agent.policies.verdict import Decision, ReasonCode, Role, Tier, Verdict, allow, deny, fail_closed


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EditedAction(_Frozen):
    """The call as the approver rewrote it."""

    name: str
    args: dict[str, Any]


class ApproveDecision(_Frozen):
    """Run the call as proposed."""

    type: Literal["approve"]
    action_digest: str | None = None
    """If given, must equal the request's digest: the approver saw exactly this action."""


class EditDecision(_Frozen):
    """Run a rewritten call; it is validated and authorised again."""

    type: Literal["edit"]
    edited_action: EditedAction
    action_digest: str | None = None


class RejectDecision(_Frozen):
    """Do not run the call; the message goes back to the model."""

    type: Literal["reject"]
    message: str = Field(default="", max_length=2000)
    action_digest: str | None = None


ReviewDecision = Annotated[ApproveDecision | EditDecision | RejectDecision, Field(discriminator="type")]


class ApprovalResponse(_Frozen):
    """A resume payload in LangChain's HITL shape: one decision per action shown, in that order."""

    decisions: list[ReviewDecision] = Field(min_length=1, max_length=50)


def action_digest(*, tool_name: str, args: Any, thread_id: str, tool_call_id: str, policy_version: str) -> str:
    """Return the SHA-256 of the canonical action: what an approval is bound to."""
    canonical = json.dumps({"tool": tool_name, "args": args, "thread": thread_id, "call": tool_call_id,
                            "policy": policy_version}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _holds(cond: ArgCondition, args: dict[str, Any]) -> bool:
    value, target = args[cond.arg], cond.value
    if cond.op in ("domain_in", "domain_not_in"):
        domain = str(value).rsplit("@", 1)[-1].lower()
        domains = {target.lower()} if isinstance(target, str) else {t.lower() for t in target}  # type: ignore[union-attr]
        return (domain in domains) == (cond.op == "domain_in")
    if cond.op in ("in", "not_in"):
        members = {target} if isinstance(target, str) else set(target)  # type: ignore[arg-type]
        return (value in members) == (cond.op == "in")
    ops = {"gt": value > target, "ge": value >= target, "lt": value < target, "le": value <= target,
           "eq": value == target, "ne": value != target}
    return bool(ops[cond.op])


def _matches(rule: ApprovalRule, tool_name: str, tier: Tier, args: dict[str, Any]) -> bool:
    if rule.tools and tool_name not in rule.tools:
        return False
    if rule.tiers and tier not in rule.tiers:
        return False
    for cond in rule.when:
        try:
            if not _holds(cond, args):
                return False
        except (KeyError, TypeError, ValueError):
            if not rule.require:  # an exemption that cannot be evaluated does not apply
                return False
    return True


def find_rule(*, tool_name: str, tier: Tier, args: dict[str, Any], config: ApprovalConfig) -> ApprovalRule | None:
    """Return the rule that governs this call: the first match, else an admin fallback for risky tiers."""
    for rule in config.rules:
        if _matches(rule, tool_name, tier, args):
            return rule
    if tier in config.unmatched_tiers:
        return ApprovalRule(id=f"fallback.{tier.value}", approver_role=Role.ADMIN)
    return None


@fail_closed("approval.rule")
def decide_approval(*, tool_name: str, tier: Tier, args: dict[str, Any], config: ApprovalConfig) -> Verdict:
    """Say whether an authorised call may run now or must wait for approval (and under which rule)."""
    rule = find_rule(tool_name=tool_name, tier=tier, args=args, config=config)
    if rule is None or not rule.require:
        return allow(f"approval.{rule.id if rule else 'none'}")
    return Verdict(
        Decision.ASK_APPROVAL, ReasonCode.APPROVAL_REQUIRED,
        f"{tool_name} is {tier.value}: {rule.quorum} approval(s) needed (rule {rule.id})",
        f"approval.{rule.id}",
        {"rule_id": rule.id, "quorum": rule.quorum, "ttl_s": rule.ttl_s, "approver_role": rule.approver_role.value,
         "approver_groups": list(rule.approver_groups), "separate_requester": rule.separate_requester},
    )


def rule_by_id(rule_id: str, config: ApprovalConfig) -> ApprovalRule:
    """Return the rule a pending request was made under (fallback rules are rebuilt)."""
    for rule in config.rules:
        if rule.id == rule_id:
            return rule
    if rule_id == config.provenance.id:
        return config.provenance
    if rule_id.startswith("fallback."):
        return ApprovalRule(id=rule_id, approver_role=Role.ADMIN)
    raise KeyError(rule_id)


@fail_closed("approval.approver")
def check_approver(
    *, rule: ApprovalRule, requester_id: str, approver_id: str, approver_role: Role,
    groups: dict[str, tuple[str, ...]], prior_approvers: Sequence[str] = (),
) -> Verdict:
    """Say whether this person's decision counts under `rule` for a call requested by `requester_id`."""
    if rule.separate_requester and (same_person(approver_id, requester_id) or canonical_id(approver_id) is None):
        return deny(ReasonCode.APPROVER_IS_REQUESTER,
                    f"{approver_id} requested this call and cannot approve it; another person must",
                    "approval.separation_of_duties")
    if not approver_role.at_least(rule.approver_role):
        return deny(ReasonCode.APPROVER_LACKS_ROLE,
                    f"rule {rule.id} needs the {rule.approver_role.value} role; {approver_id} has {approver_role.value}",
                    f"approval.{rule.id}.role")
    members = {g: {canonical_id(m) for m in groups.get(g, ())} for g in rule.approver_groups}
    if rule.approver_groups and not any(canonical_id(approver_id) in members[g] for g in rule.approver_groups):
        return deny(ReasonCode.APPROVER_NOT_IN_GROUP,
                    f"rule {rule.id} needs an approver from {', '.join(rule.approver_groups)}",
                    f"approval.{rule.id}.group")
    if any(same_person(approver_id, prior) for prior in prior_approvers):
        return deny(ReasonCode.DUPLICATE_APPROVER, f"{approver_id} has already approved; the quorum needs another person",
                    f"approval.{rule.id}.quorum")
    return Verdict(Decision.ALLOW, ReasonCode.APPROVED, "", f"approval.{rule.id}")
