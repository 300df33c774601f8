"""Decision table for authorize_tool_call, and fail-closed behaviour on malformed input."""

from __future__ import annotations

import pytest

from safe_agent.policies.authorization import authorize_tool_call
from safe_agent.policies.config import ApprovalConfig
from safe_agent.policies.verdict import Decision, ReasonCode, Role
from safe_agent.tools.support_desk import default_tools

TOOLS = default_tools()
REFUND = {"order_id": "1001", "amount_usd": 5.0, "reason": "late"}


@pytest.mark.parametrize(
    "tool, args, role, decision, reason",
    [
        ("search_kb", {"query": "refunds"}, Role.READ, Decision.ALLOW, ReasonCode.OK),
        ("get_order", {"order_id": "1001"}, Role.READ, Decision.ALLOW, ReasonCode.OK),
        (
            "update_shipping_address",
            {"order_id": "1001", "new_address": "1 Main St, Town"},
            Role.READ,
            Decision.DENY,
            ReasonCode.INSUFFICIENT_ROLE,
        ),
        (
            "update_shipping_address",
            {"order_id": "1001", "new_address": "1 Main St, Town"},
            Role.WRITE,
            Decision.ALLOW,
            ReasonCode.OK,
        ),
        ("issue_refund", REFUND, Role.READ, Decision.DENY, ReasonCode.INSUFFICIENT_ROLE),
        ("issue_refund", REFUND, Role.WRITE, Decision.ASK_APPROVAL, ReasonCode.APPROVAL_REQUIRED),
        ("issue_refund", REFUND, Role.ADMIN, Decision.ASK_APPROVAL, ReasonCode.APPROVAL_REQUIRED),
        (
            "delete_customer",
            {"customer_id": "C-100"},
            Role.WRITE,
            Decision.DENY,
            ReasonCode.INSUFFICIENT_ROLE,
        ),
        (
            "delete_customer",
            {"customer_id": "C-100"},
            Role.ADMIN,
            Decision.ASK_APPROVAL,
            ReasonCode.APPROVAL_REQUIRED,
        ),
        ("nope", {}, Role.ADMIN, Decision.DENY, ReasonCode.UNKNOWN_TOOL),
        (
            "get_order",
            {"order_id": "1001", "x": 1},
            Role.READ,
            Decision.DENY,
            ReasonCode.INVALID_ARGUMENTS,
        ),
        ("get_order", "1001", Role.READ, Decision.DENY, ReasonCode.INVALID_ARGUMENTS),
        ("get_order", None, Role.READ, Decision.DENY, ReasonCode.INVALID_ARGUMENTS),
    ],
    ids=[
        "read-search",
        "read-order",
        "read-cannot-write",
        "write-can-write",
        "read-cannot-refund",
        "write-refund-needs-approval",
        "admin-refund-still-needs-approval",
        "write-cannot-delete",
        "admin-delete-needs-approval",
        "unknown-tool",
        "extra-arg",
        "args-not-object",
        "args-none",
    ],
)
def test_authorize_decision_table(tool, args, role, decision, reason) -> None:
    verdict = authorize_tool_call(
        tool_name=tool, args=args, role=role, tools=TOOLS, approval=ApprovalConfig()
    )
    assert (verdict.decision, verdict.reason_code) == (decision, reason)
    assert verdict.policy_id


def test_authorize_role_is_checked_even_when_args_are_valid_but_tool_is_destructive() -> None:
    verdict = authorize_tool_call(
        tool_name="delete_customer",
        args={"customer_id": "C-1"},
        role=Role.READ,
        tools=TOOLS,
        approval=ApprovalConfig(),
    )
    assert not verdict.allowed and "admin" in verdict.detail


def test_authorize_malformed_input_fails_closed() -> None:
    verdict = authorize_tool_call(tool_name=None, args={}, role="admin", tools=None, approval=None)  # type: ignore[arg-type]
    assert verdict.decision is Decision.DENY and verdict.reason_code is ReasonCode.POLICY_ERROR
