"""Decision tables for the approval policy.

Which calls need approval, whose decision counts, and how.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from safe_agent.policies.approval import (
    ApprovalResponse,
    ApproveDecision,
    EditDecision,
    RejectDecision,
    action_digest,
    check_approver,
    decide_approval,
    rule_by_id,
)
from safe_agent.policies.approval_decision import PendingAction, judge_decision
from safe_agent.policies.config import ApprovalConfig, ApprovalRule, ArgCondition
from safe_agent.policies.verdict import Decision, ReasonCode, Role, Tier
from safe_agent.tools.support_desk import default_tools

DEFAULT = ApprovalConfig()
STRICT = ApprovalConfig(
    version="7",
    groups={"finance": ("fin-1", "fin-2", "fin-3")},
    rules=(
        ApprovalRule(
            id="big-refund",
            tools=("issue_refund",),
            when=(ArgCondition(arg="amount_usd", op="gt", value=50),),
            approver_groups=("finance",),
            quorum=2,
            ttl_s=3600,
        ),
        ApprovalRule(
            id="internal-email",
            tools=("send_email",),
            when=(ArgCondition(arg="to", op="domain_in", value=("example.com",)),),
            require=False,
        ),
        ApprovalRule(id="destructive", tiers=(Tier.DESTRUCTIVE,), approver_role=Role.ADMIN),
        ApprovalRule(id="irreversible", tiers=(Tier.IRREVERSIBLE,)),
    ),
)
REFUND = {"order_id": "1001", "amount_usd": 80.0, "reason": "r"}


@pytest.mark.parametrize(
    "tool, tier, args, config, decision, rule",
    [
        (
            "issue_refund",
            Tier.IRREVERSIBLE,
            {**REFUND, "amount_usd": 10.0},
            STRICT,
            Decision.ASK_APPROVAL,
            "irreversible",
        ),
        ("issue_refund", Tier.IRREVERSIBLE, REFUND, STRICT, Decision.ASK_APPROVAL, "big-refund"),
        ("send_email", Tier.IRREVERSIBLE, {"to": "ops@example.com"}, STRICT, Decision.ALLOW, None),
        (
            "send_email",
            Tier.IRREVERSIBLE,
            {"to": "someone@elsewhere.org"},
            STRICT,
            Decision.ASK_APPROVAL,
            "irreversible",
        ),
        ("get_order", Tier.READ_ONLY, {"order_id": "1"}, STRICT, Decision.ALLOW, None),
        (
            "delete_customer",
            Tier.DESTRUCTIVE,
            {"customer_id": "C-1"},
            DEFAULT,
            Decision.ASK_APPROVAL,
            "destructive",
        ),
        (
            "issue_refund",
            Tier.IRREVERSIBLE,
            REFUND,
            ApprovalConfig(rules=()),
            Decision.ASK_APPROVAL,
            "fallback.irreversible",
        ),
        ("send_email", Tier.IRREVERSIBLE, {}, STRICT, Decision.ASK_APPROVAL, "irreversible"),
    ],
    ids=[
        "small-refund",
        "big-refund-needs-finance",
        "internal-email-exempt",
        "external-email",
        "read-free",
        "destructive-default",
        "no-rules-fails-closed",
        "exemption-unevaluable-does-not-apply",
    ],
)
def test_decide_approval_table(tool, tier, args, config, decision, rule) -> None:
    verdict = decide_approval(tool_name=tool, tier=tier, args=args, config=config)
    assert verdict.decision is decision
    assert verdict.data.get("rule_id") == rule


BIG = rule_by_id("big-refund", STRICT)
IRR = rule_by_id("irreversible", DEFAULT)


@pytest.mark.parametrize(
    "rule, approver, role, prior, reason",
    [
        (IRR, "u-2", Role.WRITE, (), ReasonCode.APPROVED),
        (IRR, "u-1", Role.ADMIN, (), ReasonCode.APPROVER_IS_REQUESTER),
        (IRR, "u-2", Role.READ, (), ReasonCode.APPROVER_LACKS_ROLE),
        (rule_by_id("destructive", DEFAULT), "u-2", Role.WRITE, (), ReasonCode.APPROVER_LACKS_ROLE),
        (BIG, "u-2", Role.ADMIN, (), ReasonCode.APPROVER_NOT_IN_GROUP),
        (BIG, "fin-1", Role.WRITE, (), ReasonCode.APPROVED),
        (BIG, "fin-1", Role.WRITE, ("fin-1",), ReasonCode.DUPLICATE_APPROVER),
    ],
    ids=[
        "peer-approves",
        "self-approval",
        "reader-cannot-approve",
        "writer-cannot-approve-destructive",
        "admin-outside-group",
        "group-member",
        "same-approver-twice",
    ],
)
def test_check_approver_table(rule, approver, role, prior, reason) -> None:
    verdict = check_approver(
        rule=rule,
        requester_id="u-1",
        approver_id=approver,
        approver_role=role,
        groups=STRICT.groups,
        prior_approvers=prior,
    )
    assert verdict.reason_code is reason


def test_check_approver_malformed_input_fails_closed() -> None:
    verdict = check_approver(
        rule=None, requester_id="u", approver_id="v", approver_role="boss", groups={}
    )  # type: ignore[arg-type]
    assert verdict.reason_code is ReasonCode.POLICY_ERROR


def test_action_digest_binds_every_part() -> None:
    base = dict(
        tool_name="issue_refund", args=REFUND, thread_id="t", tool_call_id="c", policy_version="1"
    )
    digests = {action_digest(**base)}
    for key, value in [
        ("tool_name", "send_email"),
        ("args", {**REFUND, "amount_usd": 80.01}),
        ("thread_id", "t2"),
        ("tool_call_id", "c2"),
        ("policy_version", "2"),
    ]:
        digests.add(action_digest(**{**base, key: value}))
    assert len(digests) == 6
    assert action_digest(**{**base, "args": dict(reversed(list(REFUND.items())))}) == action_digest(
        **base
    )


def _pending(config: ApprovalConfig, rule_id: str, **kw) -> PendingAction:
    args = kw.pop("args", REFUND)
    digest = action_digest(
        tool_name="issue_refund",
        args=args,
        thread_id="t",
        tool_call_id="c",
        policy_version=config.version,
    )
    return PendingAction(
        tool_name="issue_refund",
        tool_call_id="c",
        thread_id="t",
        args=args,
        digest=digest,
        rule_id=rule_id,
        expires_at=1000.0,
        requester_id="u-1",
        requester_role=Role.WRITE,
        **kw,
    )


def _judge(decision, pending, approver="fin-1", role=Role.WRITE, now=10.0, config=STRICT):
    return judge_decision(
        decision=decision,
        pending=pending,
        approver_id=approver,
        approver_role=role,
        now=now,
        tools=default_tools(),
        config=config,
    )


def test_judge_quorum_two_needs_two_distinct_approvers() -> None:
    first = _judge(ApproveDecision(type="approve"), _pending(STRICT, "big-refund"))
    assert first.outcome == "pending" and first.approvals == ("fin-1",)
    again = _judge(
        ApproveDecision(type="approve"), _pending(STRICT, "big-refund", approvals=("fin-1",))
    )
    assert again.outcome == "refused" and again.verdict.reason_code is ReasonCode.DUPLICATE_APPROVER
    second = _judge(
        ApproveDecision(type="approve"),
        _pending(STRICT, "big-refund", approvals=("fin-1",)),
        approver="fin-2",
    )
    assert second.outcome == "approved" and second.approvals == ("fin-1", "fin-2")


def test_judge_expired_request_is_a_rejection_whoever_decides() -> None:
    out = _judge(ApproveDecision(type="approve"), _pending(STRICT, "big-refund"), now=1000.0)
    assert out.outcome == "expired" and out.verdict.reason_code is ReasonCode.APPROVAL_EXPIRED


def test_judge_digest_mismatch_is_refused() -> None:
    out = _judge(
        ApproveDecision(type="approve", action_digest="0" * 64), _pending(STRICT, "big-refund")
    )
    assert out.outcome == "refused" and out.verdict.reason_code is ReasonCode.DIGEST_MISMATCH


def test_judge_edit_beyond_order_total_is_refused() -> None:
    edit = EditDecision(
        type="edit", edited_action={"name": "issue_refund", "args": {**REFUND, "amount_usd": 50000}}
    )
    out = _judge(edit, _pending(DEFAULT, "irreversible"), approver="boss", config=DEFAULT)
    assert out.outcome == "refused" and out.verdict.reason_code is ReasonCode.INVALID_ARGUMENTS


def test_judge_edit_to_a_small_amount_runs_with_new_digest() -> None:
    pending = _pending(STRICT, "big-refund")
    edit = EditDecision(
        type="edit", edited_action={"name": "issue_refund", "args": {**REFUND, "amount_usd": 20.0}}
    )
    out = _judge(edit, pending, approver="fin-1", role=Role.WRITE)
    assert (
        out.outcome == "approved"
        and out.args["amount_usd"] == 20.0
        and out.digest != pending.digest
    )
    assert out.rule_id == "irreversible"
    outsider = _judge(edit, pending, approver="boss", role=Role.ADMIN)
    assert outsider.outcome == "refused", (
        "only someone who may decide the pending request may edit it"
    )


def test_judge_edit_into_a_rule_the_approver_cannot_approve_is_refused() -> None:
    pending = _pending(STRICT, "irreversible", args={**REFUND, "amount_usd": 20.0})
    edit = EditDecision(
        type="edit", edited_action={"name": "issue_refund", "args": {**REFUND, "amount_usd": 70.0}}
    )
    out = _judge(edit, pending, approver="boss", role=Role.ADMIN)
    assert out.outcome == "refused" and out.verdict.reason_code is ReasonCode.APPROVER_NOT_IN_GROUP


def test_judge_reject_drops_the_call() -> None:
    out = _judge(RejectDecision(type="reject", message="no"), _pending(STRICT, "big-refund"))
    assert out.outcome == "rejected"


def test_judge_unknown_rule_fails_closed() -> None:
    out = _judge(ApproveDecision(type="approve"), _pending(STRICT, "rule-that-was-removed"))
    assert out.outcome == "refused" and out.verdict.reason_code is ReasonCode.POLICY_ERROR


@pytest.mark.parametrize(
    "payload",
    [
        {"decisions": [{"type": "approve"}]},
        {"decisions": [{"type": "reject", "message": "no"}]},
        {"decisions": [{"type": "edit", "edited_action": {"name": "t", "args": {"a": 1}}}]},
        {"decisions": [{"type": "approve", "action_digest": "ab"}]},
        {"decisions": [{"type": "respond", "message": "x"}]},
    ],
    ids=["approve", "reject", "edit", "approve-with-digest", "respond"],
)
def test_approval_response_accepts_hitl_shapes(payload) -> None:
    assert (
        ApprovalResponse.model_validate(payload).decisions[0].type
        == payload["decisions"][0]["type"]
    )


@pytest.mark.parametrize(
    "payload",
    [
        {"decisions": []},
        {"decisions": [{"type": "respond"}]},
        {"decisions": [{"type": "approve", "x": 1}]},
        {"decisions": [{"type": "approve"}] * 51},
    ],
    ids=["empty", "respond-without-message", "extra-field", "more-than-fifty"],
)
def test_approval_response_rejects_bad_shapes(payload) -> None:
    with pytest.raises(ValidationError):
        ApprovalResponse.model_validate(payload)
