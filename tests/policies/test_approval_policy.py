"""Decision table for who may approve, and the resume payload schema."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from policies.approval import ApprovalResponse, check_approver
from policies.config import ApprovalConfig
from policies.verdict import ReasonCode, Role, Tier


@pytest.mark.parametrize(
    "tier, requester, approver, role, reason",
    [
        (Tier.IRREVERSIBLE, "u-1", "u-2", Role.WRITE, ReasonCode.APPROVED),
        (Tier.IRREVERSIBLE, "u-1", "u-1", Role.ADMIN, ReasonCode.APPROVER_IS_REQUESTER),
        (Tier.IRREVERSIBLE, "u-1", "u-2", Role.READ, ReasonCode.APPROVER_LACKS_ROLE),
        (Tier.DESTRUCTIVE, "u-1", "u-2", Role.WRITE, ReasonCode.APPROVER_LACKS_ROLE),
        (Tier.DESTRUCTIVE, "u-1", "u-2", Role.ADMIN, ReasonCode.APPROVED),
    ],
    ids=["peer-approves", "self-approval", "reader-cannot-approve", "writer-cannot-approve-destructive",
         "admin-approves-destructive"],
)
def test_approver_decision_table(tier, requester, approver, role, reason) -> None:
    verdict = check_approver(tier=tier, requester_id=requester, approver_id=approver, approver_role=role,
                             config=ApprovalConfig())
    assert verdict.reason_code is reason


def test_approver_self_approval_allowed_only_when_separation_is_off() -> None:
    verdict = check_approver(tier=Tier.IRREVERSIBLE, requester_id="u", approver_id="u", approver_role=Role.WRITE,
                             config=ApprovalConfig(separate_requester=False))
    assert verdict.allowed


def test_approver_malformed_input_fails_closed() -> None:
    verdict = check_approver(tier=Tier.IRREVERSIBLE, requester_id="u", approver_id="v", approver_role="boss",  # type: ignore[arg-type]
                             config=ApprovalConfig())
    assert verdict.reason_code is ReasonCode.POLICY_ERROR


@pytest.mark.parametrize(
    "payload",
    [{"decisions": [{"type": "approve"}]}, {"decisions": [{"type": "reject", "message": "no"}]},
     {"decisions": [{"type": "edit", "edited_action": {"name": "t", "args": {"a": 1}}}]}],
    ids=["approve", "reject", "edit"],
)
def test_approval_response_accepts_hitl_shapes(payload) -> None:
    assert ApprovalResponse.model_validate(payload).decisions[0].type == payload["decisions"][0]["type"]


@pytest.mark.parametrize(
    "payload",
    [{"decisions": []}, {"decisions": [{"type": "respond", "message": "x"}]}, {"decisions": [{"type": "approve", "x": 1}]},
     {"decisions": [{"type": "approve"}, {"type": "approve"}]}],
    ids=["empty", "respond-not-supported", "extra-field", "two-decisions-for-one-action"],
)
def test_approval_response_rejects_bad_shapes(payload) -> None:
    with pytest.raises(ValidationError):
        ApprovalResponse.model_validate(payload)
