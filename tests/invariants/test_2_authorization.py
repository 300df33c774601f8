"""Invariant 2: a tool runs only after authorize (and approval if required) for those exact args."""

from __future__ import annotations

import sqlite3

import pytest
from helpers import answer, tool_call

from safe_agent.chat_models import ScriptedChatModel


def _outbox(agent) -> int:
    with sqlite3.connect(agent.services.paths.desk) as conn:
        return conn.execute("select count(*) from outbox").fetchone()[0]


@pytest.mark.parametrize(
    "role, call, expected",
    [
        (
            "read",
            tool_call("update_shipping_address", order_id="1001", new_address="1 New Street, Town"),
            "insufficient_role",
        ),
        (
            "read",
            tool_call("send_email", to="a@example.com", subject="s", body="b"),
            "insufficient_role",
        ),
        ("write", tool_call("delete_customer", customer_id="C-101"), "insufficient_role"),
        ("read", tool_call("drop_database"), "unknown_tool"),
        ("read", tool_call("get_order", order_id="1001", admin=True), "invalid_arguments"),
        ("read", tool_call("get_order", order_id="not-a-number"), "invalid_arguments"),
        (
            "write",
            tool_call("issue_refund", order_id="1001", amount_usd=-5, reason="x"),
            "invalid_arguments",
        ),
    ],
    ids=[
        "read-cannot-write",
        "read-cannot-email",
        "write-cannot-destroy",
        "unknown-tool",
        "extra-argument",
        "bad-argument-format",
        "negative-refund",
    ],
)
def test_authorization_denies_and_tells_model(make_agent, role: str, call, expected: str) -> None:
    model = ScriptedChatModel(replies=[call, answer("ok")])
    agent = make_agent(model=model)
    result = agent.run("do it", user_id="u-1", role=role)
    told = model.calls[1][-1]
    assert told.type == "tool" and told.status == "error" and expected in told.content
    kinds = [r["kind"] for r in agent.audit(thread_id=result.thread_id)]
    assert "tool_execution" not in kinds


def test_authorization_allows_read_tool_for_read_role(make_agent) -> None:
    model = ScriptedChatModel(replies=[tool_call("get_order", order_id="1001"), answer("ok")])
    agent = make_agent(model=model)
    agent.run("status?", user_id="u-1", role="read")
    assert '"status"' in model.calls[1][-1].content


def test_authorization_irreversible_waits_for_approval_before_any_side_effect(make_agent) -> None:
    model = ScriptedChatModel(
        replies=[tool_call("send_email", to="a@example.com", subject="s", body="b"), answer("ok")]
    )
    agent = make_agent(model=model)
    paused = agent.run("email them", user_id="u-1", role="write")
    assert paused.status == "paused" and _outbox(agent) == 0
    agent.resume(
        paused.thread_id,
        {"decisions": [{"type": "reject", "message": "not now"}]},
        approver_id="boss",
        approver_role="admin",
    )
    assert _outbox(agent) == 0
    assert "rejected by boss: not now" in model.calls[1][-1].content


def test_authorization_edit_is_revalidated_and_runs_edited_args(make_agent) -> None:
    model = ScriptedChatModel(
        replies=[tool_call("send_email", to="a@example.com", subject="s", body="b"), answer("ok")]
    )
    agent = make_agent(model=model)
    paused = agent.run("email them", user_id="u-1", role="write")
    bad = {
        "decisions": [
            {
                "type": "edit",
                "edited_action": {"name": "send_email", "args": {"to": "not-an-email"}},
            }
        ]
    }
    still = agent.resume(paused.thread_id, bad, approver_id="boss", approver_role="admin")
    assert (
        still.status == "paused"
        and still.reason_code == "invalid_arguments"
        and _outbox(agent) == 0
    )
    good = {
        "decisions": [
            {
                "type": "edit",
                "edited_action": {
                    "name": "send_email",
                    "args": {"to": "b@example.com", "subject": "s2", "body": "b2"},
                },
            }
        ]
    }
    done = agent.resume(paused.thread_id, good, approver_id="boss", approver_role="admin")
    assert done.status == "answered"
    with sqlite3.connect(agent.services.paths.desk) as conn:
        assert conn.execute("select to_addr, subject from outbox").fetchall() == [
            ("b@example.com", "s2")
        ]


def test_authorization_edit_cannot_swap_the_tool(make_agent) -> None:
    model = ScriptedChatModel(
        replies=[tool_call("send_email", to="a@example.com", subject="s", body="b"), answer("ok")]
    )
    agent = make_agent(model=model)
    paused = agent.run("email them", user_id="u-1", role="write")
    swap = {
        "decisions": [
            {
                "type": "edit",
                "edited_action": {"name": "delete_customer", "args": {"customer_id": "C-101"}},
            }
        ]
    }
    still = agent.resume(paused.thread_id, swap, approver_id="boss", approver_role="admin")
    assert still.status == "paused" and _outbox(agent) == 0
