"""A call in doubt is visible, blocks its thread, and an edit can never pay twice.

Before: with exit durability a crash after the desk write brought the thread back as an ordinary
approval (no in-doubt flag, though the execution row was `started`); an edit got a new idempotency
key and paid again, a rejection told the user "Not run" although the refund was made. The crash
is simulated here by writing what the crashed process left: the decision ledger's approval and a
`started` execution row for the call, with the thread still at its answered approval pause.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest
from helpers import answer, make_config, tool_call
from langchain_core.messages import HumanMessage

from safe_agent.chat_models import ScriptedChatModel
from safe_agent.errors import InDoubt
from safe_agent.graph.context import Context
from safe_agent.tools.spec import idempotency_key_for

REFUND = {"order_id": "1001", "amount_usd": 25.0, "reason": "late"}


def _refunds(agent) -> list[tuple]:
    with closing(sqlite3.connect(agent.services.paths.desk)) as db:
        return db.execute("SELECT order_id, amount_usd FROM refunds").fetchall()


def _crashed_after_the_refund(make_agent):
    agent = make_agent(
        model=ScriptedChatModel(replies=[tool_call("issue_refund", **REFUND), answer("done")])
    )
    paused = agent.run("Refund $25 on order 1001", user_id="u-1", role="write")
    call_id = paused.approval["tool_call_id"]
    [record] = [
        r
        for r in [
            agent.services.decisions.get(
                thread_id=paused.thread_id,
                tool_call_id=call_id,
                digest=paused.approval["action_digest"],
            )
        ]
        if r
    ]
    agent.services.decisions.record_approved(
        request=record,
        digest=record.digest,
        approvals=["approver-7"],
        decided_by="approver-7",
        now=agent.services.clock(),
    )
    key = idempotency_key_for(paused.thread_id, call_id)
    agent.services.executions.begin(
        key,
        thread_id=paused.thread_id,
        tool_call_id=call_id,
        digest=record.digest,
        tool_name="issue_refund",
        now=agent.services.clock(),
    )
    spec = agent.services.tools["issue_refund"]
    from safe_agent.tools.spec import ToolCallContext

    ctx = ToolCallContext(
        user_id="u-1",
        thread_id=paused.thread_id,
        tool_call_id=call_id,
        idempotency_key=key,
        resources=agent.services.resources,
    )
    spec.run(
        spec.args_schema.model_validate(REFUND), ctx
    )  # the effect happened; then the process died
    return agent, paused


def test_the_call_is_listed_in_doubt_and_every_other_answer_is_refused(make_agent) -> None:
    agent, paused = _crashed_after_the_refund(make_agent)
    [pending] = agent.pending()
    assert (
        pending.kind == "reconcile"
        and pending.request["in_doubt"]
        and pending.request["tool_name"] == "issue_refund"
    )
    edit = {
        "type": "edit",
        "edited_action": {"name": "issue_refund", "args": {**REFUND, "amount_usd": 45.0}},
    }
    for decision in (edit, {"type": "reject", "message": "no"}, {"type": "approve"}):
        with pytest.raises(InDoubt, match="reconcile"):
            agent.resume(
                paused.thread_id,
                {"decisions": [decision]},
                approver_id="approver-7",
                approver_role="admin",
            )
    with pytest.raises(InDoubt):
        agent.run("hello?", user_id="u-1", role="write", thread_id=paused.thread_id)
    assert agent.sweep() == [] and _refunds(agent) == [("1001", 25.0)]


def test_an_edit_through_the_graph_itself_cannot_pay_twice(make_agent) -> None:
    """A server client bypasses the facade: the edit reaches the graph, which still pays once."""
    agent, paused = _crashed_after_the_refund(make_agent)
    edit = {
        "decisions": [
            {
                "type": "edit",
                "edited_action": {"name": "issue_refund", "args": {**REFUND, "amount_usd": 45.0}},
            }
        ]
    }
    from langgraph.types import Command

    agent.graph.invoke(
        Command(resume={paused.interrupt_id: edit}),
        {"configurable": {"thread_id": paused.thread_id}},
        context=Context(user_id="approver-7", role="admin"),
    )
    assert _refunds(agent) == [("1001", 25.0)]
    now = agent.pending_for(paused.thread_id)
    assert now is not None and now.kind == "reconcile"


def test_a_new_message_through_the_graph_is_refused_and_keeps_the_call(make_agent) -> None:
    agent, paused = _crashed_after_the_refund(make_agent)
    config = {"configurable": {"thread_id": paused.thread_id}}
    agent.graph.update_state(
        config, None, as_node="audit"
    )  # move past the pause, as a crashed sync run would
    out = agent.graph.invoke(
        {"messages": [HumanMessage("hello?")]}, config, context=Context(user_id="u-1", role="write")
    )
    assert out["halt"]["reason_code"] == "in_doubt"
    assert agent.pending_for(paused.thread_id).kind == "reconcile"  # the call kept, now asking
    agent.reconcile(paused.thread_id, done=True, operator_id="ops-1", operator_role="admin")
    assert _refunds(agent) == [("1001", 25.0)]
    assert agent.pending() == [] and agent.services.executions.unfinished() == []
    assert [r.status for r in agent.services.executions.for_thread(paused.thread_id)] == [
        "reconciled_done"
    ]


def test_a_lost_thread_is_listed_and_settled_on_the_ledger(make_agent) -> None:
    agent = make_agent(config=make_config())
    agent.services.executions.begin(
        "idem-lost",
        thread_id="gone",
        tool_call_id="c9",
        digest="d" * 64,
        tool_name="send_email",
        now=agent.services.clock(),
    )
    [pending] = agent.pending()
    assert (pending.thread_id, pending.kind, pending.request["thread_exists"]) == (
        "gone",
        "reconcile",
        False,
    )
    result = agent.reconcile(
        "gone", done=False, operator_id="ops-1", operator_role="admin", note="not in outbox"
    )
    assert "runs only if it is approved again" in result.answer and agent.pending() == []
    assert agent.services.executions.get("idem-lost").status == "reconciled_not_done"


def test_audit_rows_of_a_thread_that_no_longer_exists_are_marked(make_agent) -> None:
    """Exit durability loses a run cut off before its first pause; its audit rows remain, marked."""
    agent = make_agent(model=ScriptedChatModel(replies=[answer("hi")]))
    kept = agent.run("hello", user_id="u-1", role="read").thread_id
    agent.services.audit.append(
        [
            {
                "event_id": "e-lost",
                "timestamp": "2026-12-01T00:00:00+00:00",
                "node": "authorize",
                "kind": "authorization",
                "thread_id": "never-saved",
                "user_id": "u-1",
            }
        ]
    )
    rows = agent.audit()
    assert {r["thread_id"] for r in rows if r.get("thread_lost")} == {"never-saved"}
    assert all(not r.get("thread_lost") for r in rows if r["thread_id"] == kept)


@pytest.mark.parametrize(
    "garbage",
    [{"outcome": "maybe"}, {"outcome": "done", "extra": 1}, "done", None, [1, 2]],
)
def test_an_unreadable_reconcile_answer_keeps_the_call_in_doubt(make_agent, garbage) -> None:
    """A server client's malformed answer to the reconcile pause is refused inside the graph: no
    exception (the thread would be left in `error`), the call stays in doubt, nothing pays."""
    from langgraph.types import Command

    agent, paused = _crashed_after_the_refund(make_agent)
    config = {"configurable": {"thread_id": paused.thread_id}}
    admin = Context(user_id="ops-1", role="admin")
    approve = {"decisions": [{"type": "approve"}]}
    agent.graph.invoke(Command(resume={paused.interrupt_id: approve}), config, context=admin)
    asked = agent.pending_for(paused.thread_id)
    assert asked is not None and asked.kind == "reconcile"
    agent.graph.invoke(Command(resume={asked.interrupt_id: garbage}), config, context=admin)
    again = agent.pending_for(paused.thread_id)
    assert again is not None and again.kind == "reconcile"
    assert _refunds(agent) == [("1001", 25.0)]
    refused = [
        r for r in agent.audit(thread_id=paused.thread_id) if r["reason_code"] == "invalid_decision"
    ]
    assert refused, "the unreadable answer is audited"
