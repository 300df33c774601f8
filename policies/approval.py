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

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from safe_agent.policies.config import ApprovalConfig, ApprovalRule, ArgCondition
from safe_agent.policies.identity import canonical_id, same_person
from safe_agent.policies.verdict import (
    Decision,
    ReasonCode,
    Role,
    Tier,
    Verdict,
    allow,
    deny,
    fail_closed,
)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


CAMEL_CASE = {"editedAction": "edited_action", "actionDigest": "action_digest"}
"""The JS SDK's spellings of our keys. A client may send both (some send `editedAction` and
`edited_action` side by side); they must then agree, or the decision is refused."""


def _snake_case(raw: Any) -> Any:
    """Fold the JS spellings into ours; any other unknown key is still refused (extra="forbid")."""
    if not isinstance(raw, dict):
        return raw
    out = dict(raw)
    for camel, snake in CAMEL_CASE.items():
        if camel in out:
            value = out.pop(camel)
            if snake in out and out[snake] != value:
                raise ValueError(f"{camel} and {snake} disagree; send one of them")
            out[snake] = value
    return out


class _Decision(_Frozen):
    @model_validator(mode="before")
    @classmethod
    def _spellings(cls, raw: Any) -> Any:
        return _snake_case(raw)


class EditedAction(_Frozen):
    """The call as the approver rewrote it."""

    name: str
    args: dict[str, Any]


class ApproveDecision(_Decision):
    """Run the call as proposed."""

    type: Literal["approve"]
    action_digest: str | None = None
    """If given, must equal the request's digest: the approver saw exactly this action."""


class EditDecision(_Decision):
    """Run a rewritten call; it is validated and authorised again."""

    type: Literal["edit"]
    edited_action: EditedAction
    action_digest: str | None = None


class RejectDecision(_Decision):
    """Do not run the call; the message goes back to the model."""

    type: Literal["reject"]
    message: str = Field(default="", max_length=2000)
    action_digest: str | None = None


class RespondDecision(_Decision):
    """Do not run the call; the person's message goes to the model as the call's result.

    LangChain's answer "on behalf of the tool" (an ask-the-user tool, or a call a person has
    already carried out by hand). The node passes the message through the input guard and the
    `[input.pii]` policy first, as it does for any text the model reads.
    """

    type: Literal["respond"]
    message: str = Field(min_length=1, max_length=20_000)
    action_digest: str | None = None


AnyDecision = ApproveDecision | EditDecision | RejectDecision | RespondDecision
ReviewDecision = Annotated[AnyDecision, Field(discriminator="type")]
DECISION_TYPES = ("approve", "edit", "reject", "respond")
"""Every decision type LangChain's `HITLResponse` defines; each request allows them all."""


class ApprovalResponse(_Frozen):
    """A resume payload in LangChain's HITL shape: one decision per action shown, in that order.

    A bare decision (LangChain's `per_call` answer, `{"type": "approve"}`) reads as a list of one.
    """

    decisions: list[ReviewDecision] = Field(min_length=1, max_length=50)

    @model_validator(mode="before")
    @classmethod
    def _bare(cls, raw: Any) -> Any:
        bare = isinstance(raw, dict) and "type" in raw and "decisions" not in raw
        return {"decisions": [raw]} if bare else raw


RESPONSE_SCHEMA = ApprovalResponse.model_json_schema()
"""The JSON schema shown to clients with each request. Given as a dict, `interrupt` does not
validate the resume with it: a resume that raised inside the node would put a server thread in
`error`. The node reads the value itself (`read_response`) and asks again when it cannot."""


def first_error(exc: ValidationError) -> str:
    """Return the first validation error as one line: where, then what (never the value sent)."""
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ())) or "decision"
    return f"{where}: {err.get('msg', 'invalid')}"[:300]


def read_response(raw: Any, *, shown: int) -> tuple[list[AnyDecision | None], Verdict]:
    """Read a resume value as one decision per action shown, or say why it cannot be read.

    A refusal comes with `shown` empty slots, so every request is answered "refused": nothing runs
    and the thread asks again.
    """
    try:
        response = ApprovalResponse.model_validate(raw)
    except ValidationError as exc:
        why = f"not a HITL response: {first_error(exc)}"
        return [None] * shown, deny(ReasonCode.INVALID_DECISION, why, "approval.response")
    except Exception as exc:  # noqa: BLE001 - fail closed: an unreadable resume runs nothing
        why = f"resume unreadable: {type(exc).__name__}"
        return [None] * shown, deny(ReasonCode.POLICY_ERROR, why, "approval.response")
    if len(response.decisions) != shown:
        return [None] * shown, deny(
            ReasonCode.DECISION_COUNT,
            f"{shown} action(s) are waiting and {len(response.decisions)} decision(s) were sent; "
            "send one decision per action shown, in the order shown",
            "approval.batch",
        )
    return list(response.decisions), allow("approval.response")


def action_digest(
    *, tool_name: str, args: Any, thread_id: str, tool_call_id: str, policy_version: str
) -> str:
    """Return the SHA-256 of the canonical action: what an approval is bound to."""
    canonical = json.dumps(
        {
            "tool": tool_name,
            "args": args,
            "thread": thread_id,
            "call": tool_call_id,
            "policy": policy_version,
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
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
    ops = {
        "gt": value > target,
        "ge": value >= target,
        "lt": value < target,
        "le": value <= target,
        "eq": value == target,
        "ne": value != target,
    }
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


def find_rule(
    *, tool_name: str, tier: Tier, args: dict[str, Any], config: ApprovalConfig
) -> ApprovalRule | None:
    """Return the rule for this call: the first match, else an admin fallback for risky tiers."""
    for rule in config.rules:
        if _matches(rule, tool_name, tier, args):
            return rule
    if tier in config.unmatched_tiers:
        return ApprovalRule(id=f"fallback.{tier.value}", approver_role=Role.ADMIN)
    return None


@fail_closed("approval.rule")
def decide_approval(
    *, tool_name: str, tier: Tier, args: dict[str, Any], config: ApprovalConfig
) -> Verdict:
    """Say if an authorised call may run now or must wait for approval (and under which rule)."""
    rule = find_rule(tool_name=tool_name, tier=tier, args=args, config=config)
    if rule is None or not rule.require:
        return allow(f"approval.{rule.id if rule else 'none'}")
    return Verdict(
        Decision.ASK_APPROVAL,
        ReasonCode.APPROVAL_REQUIRED,
        f"{tool_name} is {tier.value}: {rule.quorum} approval(s) needed (rule {rule.id})",
        f"approval.{rule.id}",
        {
            "rule_id": rule.id,
            "quorum": rule.quorum,
            "ttl_s": rule.ttl_s,
            "approver_role": rule.approver_role.value,
            "approver_groups": list(rule.approver_groups),
            "separate_requester": rule.separate_requester,
        },
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
    *,
    rule: ApprovalRule,
    requester_id: str,
    approver_id: str,
    approver_role: Role,
    groups: dict[str, tuple[str, ...]],
    prior_approvers: Sequence[str] = (),
) -> Verdict:
    """Say if this person's decision counts under `rule` for a call requested by `requester_id`."""
    if rule.separate_requester and (
        same_person(approver_id, requester_id) or canonical_id(approver_id) is None
    ):
        return deny(
            ReasonCode.APPROVER_IS_REQUESTER,
            f"{approver_id} requested this call and cannot approve it; another person must",
            "approval.separation_of_duties",
        )
    if not approver_role.at_least(rule.approver_role):
        return deny(
            ReasonCode.APPROVER_LACKS_ROLE,
            f"rule {rule.id} needs the {rule.approver_role.value} role; "
            f"{approver_id} has {approver_role.value}",
            f"approval.{rule.id}.role",
        )
    members = {g: {canonical_id(m) for m in groups.get(g, ())} for g in rule.approver_groups}
    if rule.approver_groups and not any(
        canonical_id(approver_id) in members[g] for g in rule.approver_groups
    ):
        return deny(
            ReasonCode.APPROVER_NOT_IN_GROUP,
            f"rule {rule.id} needs an approver from {', '.join(rule.approver_groups)}",
            f"approval.{rule.id}.group",
        )
    if any(same_person(approver_id, prior) for prior in prior_approvers):
        return deny(
            ReasonCode.DUPLICATE_APPROVER,
            f"{approver_id} has already approved; the quorum needs another person",
            f"approval.{rule.id}.quorum",
        )
    return Verdict(Decision.ALLOW, ReasonCode.APPROVED, "", f"approval.{rule.id}")
