"""Invariant 3: an approved call runs at most once, even across double resumes and new processes."""

from __future__ import annotations

import sqlite3

import pytest
from helpers import FAST_RETRY, answer, make_config, tool_call

from safe_agent import SafeAgent
from safe_agent.chat_models import ScriptedChatModel
from safe_agent.errors import NothingToResume

APPROVE = {"decisions": [{"type": "approve"}]}


def _refunds(agent: SafeAgent) -> list[tuple]:
    with sqlite3.connect(agent.services.paths.desk) as conn:
        return conn.execute("select order_id, amount_usd from refunds").fetchall()


def _refund_model() -> ScriptedChatModel:
    return ScriptedChatModel(
        replies=[
            tool_call("issue_refund", order_id="1001", amount_usd=25.0, reason="damaged"),
            answer("refunded"),
        ]
    )


def test_approved_refund_runs_once_and_second_resume_is_refused(make_agent) -> None:
    agent = make_agent(model=_refund_model())
    paused = agent.run("refund please", user_id="u-1", role="write")
    assert paused.status == "paused" and _refunds(agent) == []
    done = agent.resume(paused.thread_id, APPROVE, approver_id="approver-7", approver_role="write")
    assert done.status == "answered" and _refunds(agent) == [("1001", 25.0)]
    with pytest.raises(NothingToResume):
        agent.resume(paused.thread_id, APPROVE, approver_id="approver-7", approver_role="write")
    assert _refunds(agent) == [("1001", 25.0)]


def test_pause_in_one_saver_resume_in_a_fresh_one(make_agent) -> None:
    first = make_agent(model=_refund_model())
    paused = first.run("refund please", user_id="u-1", role="write")
    first.close()
    second = make_agent(
        model=ScriptedChatModel(replies=[answer("refunded")])
    )  # new saver and connection, same file
    assert [p.thread_id for p in second.pending()] == [paused.thread_id]
    done = second.resume(paused.thread_id, APPROVE, approver_id="approver-7", approver_role="admin")
    assert done.status == "answered"
    assert _refunds(second) == [("1001", 25.0)]
    audit = second.audit(thread_id=paused.thread_id)
    decision = next(r for r in audit if r["kind"] == "approval_decision")
    assert decision["approver_id"] == "approver-7" and decision["user_id"] == "u-1"


def test_replayed_execution_with_same_key_does_not_repeat_side_effect(make_agent) -> None:
    """Re-running execute for the same (thread, tool_call_id) reuses the tool's idempotency key."""
    agent = make_agent(
        model=_refund_model(), config=make_config(retry=FAST_RETRY, checkpoint_durability="sync")
    )
    paused = agent.run("refund please", user_id="u-1", role="write")
    agent.resume(paused.thread_id, APPROVE, approver_id="approver-7", approver_role="admin")
    history = list(agent.graph.get_state_history({"configurable": {"thread_id": paused.thread_id}}))
    before_exec = next(s for s in history if s.next == ("execute_tool",))
    agent.graph.invoke(None, before_exec.config, context={"user_id": "approver-7", "role": "admin"})
    assert _refunds(agent) == [("1001", 25.0)]
