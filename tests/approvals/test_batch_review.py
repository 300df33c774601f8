"""Several calls of one model turn are reviewed in one interrupt (LangChain's HITL batch format).

Before batching, two irreversible calls proposed in one turn paused the thread twice: the
approver was asked once per call. The batch answer only collects the person's decision early:
each later call is still authorized in full when its turn comes.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langgraph.types import Command

from safe_agent.chat_models import ScriptedChatModel

REFUND = {
    "id": "t1",
    "name": "issue_refund",
    "args": {"order_id": "1001", "amount_usd": 10.0, "reason": "late delivery"},
}
EMAIL = {
    "id": "t2",
    "name": "send_email",
    "args": {"to": "ada.lovelace@example.com", "subject": "Refund", "body": "Refund sent."},
}
REQUEST = "Refund $10 on order 1001 for the late delivery and email ada.lovelace@example.com"


def _two_calls(messages: list[BaseMessage]) -> AIMessage:
    if isinstance(messages[-1], HumanMessage):
        return AIMessage(content="", tool_calls=[REFUND, EMAIL])
    return AIMessage(content="Done.")


def _count(agent, table: str) -> int:
    with closing(sqlite3.connect(agent.services.paths.desk)) as db:
        return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def _paused(make_agent):
    agent = make_agent(model=ScriptedChatModel(respond=_two_calls))
    return agent, agent.run(REQUEST, user_id="u-1", role="write")


def _resume(agent, result, *decisions):
    return agent.resume(
        result.thread_id,
        {"decisions": list(decisions)},
        approver_id="approver-7",
        approver_role="admin",
    )


def test_two_irreversible_calls_of_one_turn_are_one_interrupt(make_agent) -> None:
    agent, result = _paused(make_agent)
    assert result.status == "paused"
    names = [a["name"] for a in result.approval["action_requests"]]
    assert names == ["issue_refund", "send_email"]
    assert len(result.approval["review_configs"]) == 2
    done = _resume(agent, result, {"type": "approve"}, {"type": "approve"})
    assert done.status == "answered", done
    assert (_count(agent, "refunds"), _count(agent, "outbox")) == (1, 1)
    decided = [
        r for r in agent.audit(thread_id=result.thread_id) if r["kind"] == "approval_decision"
    ]
    assert [r["tool_call_id"] for r in decided] == [
        "t1",
        "t2",
        "t2",
    ]  # asked, answered, then applied
    assert decided[2]["input"]["outcome"] == "approved_on_record"


def test_one_approved_one_rejected(make_agent) -> None:
    agent, result = _paused(make_agent)
    done = _resume(agent, result, {"type": "approve"}, {"type": "reject", "message": "no e-mail"})
    assert done.status == "answered"
    assert (_count(agent, "refunds"), _count(agent, "outbox")) == (1, 0)


def test_an_edit_of_a_later_call_runs_the_edited_arguments(make_agent) -> None:
    agent, result = _paused(make_agent)
    edited = {**EMAIL["args"], "subject": "Your refund of $10"}
    done = _resume(
        agent,
        result,
        {"type": "reject", "message": "no refund"},
        {"type": "edit", "edited_action": {"name": "send_email", "args": edited}},
    )
    assert done.status == "answered"
    with closing(sqlite3.connect(agent.services.paths.desk)) as db:
        subjects = [row[0] for row in db.execute("SELECT subject FROM outbox")]
    assert subjects == ["Your refund of $10"] and _count(agent, "refunds") == 0


def test_the_wrong_number_of_decisions_keeps_the_thread_paused(make_agent) -> None:
    agent, result = _paused(make_agent)
    config = {"configurable": {"thread_id": result.thread_id}}
    from safe_agent.graph.context import Context

    agent.graph.invoke(
        Command(resume={result.interrupt_id: {"decisions": [{"type": "approve"}]}}),
        config,
        context=Context(user_id="approver-7", role="admin"),
    )
    still = agent.pending_for(result.thread_id)
    assert still is not None and "decision_count" in (still.request.get("last_refusal") or "")
    assert (_count(agent, "refunds"), _count(agent, "outbox")) == (0, 0)


def test_an_approved_later_call_is_still_authorized_when_its_turn_comes(make_agent) -> None:
    """A kill switch set while the batch runs stops the later call its approval covered."""
    agent, result = _paused(make_agent)
    switches, refund = agent.services.switches, agent.services.tools["issue_refund"]
    real_run = refund.run

    def refund_then_operator_stops_email(args, ctx):  # noqa: ANN001, ANN202
        out = real_run(args, ctx)
        switches.switch_off("tool:send_email", reason="incident", set_by="ops-1", now=0.0)
        return out

    object.__setattr__(refund, "run", refund_then_operator_stops_email)
    done = _resume(agent, result, {"type": "approve"}, {"type": "approve"})
    assert done.status == "answered"
    assert (_count(agent, "refunds"), _count(agent, "outbox")) == (1, 0)
