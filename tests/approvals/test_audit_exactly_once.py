"""Audit rows are exactly once per decision, however often a task runs.

Before: every node run made fresh uuid4 event ids, so a task replayed after a crash wrote its
decision again (two `approval_decision` rows for one approval), and `tool_execution` waited in
state for the next flush, so a crash right after the tool ran lost the record of a call that ran.
"""

from __future__ import annotations

from helpers import answer, make_config, tool_call

from safe_agent.chat_models import ScriptedChatModel
from safe_agent.graph.context import Context

APPROVER = Context(user_id="approver-7", role="admin")


def _approved(make_agent):
    model = ScriptedChatModel(
        replies=[
            tool_call("issue_refund", order_id="1001", amount_usd=5.0, reason="x"),
            answer("ok"),
        ]
    )
    agent = make_agent(model=model, config=make_config(checkpoint_durability="sync"))
    paused = agent.run("refund", user_id="u-1", role="write")
    agent.resume(
        paused.thread_id,
        {"decisions": [{"type": "approve"}]},
        approver_id="approver-7",
        approver_role="admin",
    )
    return agent, paused.thread_id


def _kinds(agent, thread: str, kind: str) -> list[dict]:
    return [r for r in agent.audit(thread_id=thread) if r["kind"] == kind]


def test_a_task_run_again_gets_the_same_event_ids() -> None:
    """A restarted process: the same LangGraph task (same checkpoint, same node) runs again."""
    from safe_agent.nodes._common import stamp_event_ids

    config = {
        "metadata": {"langgraph_checkpoint_ns": "approval:6f1c0e3a-0000-4000-8000-000000000001"}
    }
    first = stamp_event_ids(
        {"audit_events": [{"kind": "approval_decision", "tool_call_id": "c1"}]}, config
    )
    again = stamp_event_ids(
        {"audit_events": [{"kind": "approval_decision", "tool_call_id": "c1"}]}, config
    )
    other = stamp_event_ids(
        {"audit_events": [{"kind": "approval_decision", "tool_call_id": "c1"}]},
        {"metadata": {"langgraph_checkpoint_ns": "approval:another-task"}},
    )
    assert first["audit_events"][0]["event_id"] == again["audit_events"][0]["event_id"]
    assert first["audit_events"][0]["event_id"] != other["audit_events"][0]["event_id"]


def test_the_tool_execution_row_is_written_by_execute_tool_itself(make_agent) -> None:
    agent, thread = _approved(make_agent)
    config = {"configurable": {"thread_id": thread}}
    after_tool = next(
        s
        for s in agent.graph.get_state_history(config)
        if s.next == ("audit",)
        and s.values.get("messages")
        and s.values["messages"][-1].type == "tool"
    )
    assert after_tool.values.get("audit_events") in ([], [{"kind": "__flushed__"}], None)
    assert len(_kinds(agent, thread, "tool_execution")) == 1
