"""Exactly-once execution: a crash between a tool's side effect and checkpoint never repeats it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import FAST_RETRY, answer, make_config, tool_call

from safe_agent import SafeAgent, build_services
from safe_agent.chat_models import ScriptedChatModel
from safe_agent.errors import Forbidden, InDoubt, InvalidDecision

CHILD = Path(__file__).with_name("crash_child.py")


def _agent(root: Path, *replies, durability: str = "exit") -> SafeAgent:
    return SafeAgent(
        build_services(
            root=root,
            config=make_config(retry=FAST_RETRY, checkpoint_durability=durability),
            model=ScriptedChatModel(replies=list(replies)),
        )
    )


def _refunds(root: Path) -> int:
    with sqlite3.connect(root / "desk.sqlite") as conn:
        return conn.execute("select count(*) from refunds").fetchone()[0]


def _crash_mid_tool(root: Path, when: str, durability: str) -> str:
    with _agent(
        root,
        tool_call("issue_refund", order_id="1001", amount_usd=30.0, reason="broken"),
        durability=durability,
    ) as agent:
        thread = agent.run("refund", user_id="u-1", role="write").thread_id
    marker = root / "started.marker"
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(root), thread, str(marker), when, durability],
        env={**os.environ, "PYTHONPATH": str(CHILD.parents[2])},
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None, "child exited before the tool started"
            assert time.monotonic() < deadline, "tool never started"
            time.sleep(0.05)
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    return thread


def _back_to_the_doubt(agent: SafeAgent, thread: str, durability: str) -> None:
    """After the crash the call is in doubt under either durability: `pending` lists it (from the
    execution ledger), and approving, editing, rejecting or writing on the thread is refused until
    it is reconciled. With exit durability the answered approval is still the checkpoint's pause."""
    [pending] = agent.pending()
    assert (pending.kind, pending.request["tool_name"], pending.request["in_doubt"]) == (
        "reconcile",
        "issue_refund",
        True,
    )
    edit = {
        "type": "edit",
        "edited_action": {
            "name": "issue_refund",
            "args": {"order_id": "1001", "amount_usd": 20.0, "reason": "x"},
        },
    }
    for decision in ({"type": "approve"}, {"type": "reject", "message": "no"}, edit):
        with pytest.raises(InDoubt, match="reconcile"):
            agent.resume(
                thread, {"decisions": [decision]}, approver_id="approver-7", approver_role="admin"
            )
    with pytest.raises(InDoubt):
        agent.run("any news?", user_id="u-1", role="write", thread_id=thread)


@pytest.mark.slow
@pytest.mark.parametrize("durability", ["exit", "sync"])
def test_crash_after_side_effect_is_in_doubt_and_reconciled_done_without_rerun(
    tmp_path: Path, durability: str
) -> None:
    thread = _crash_mid_tool(tmp_path, "after", durability)
    assert _refunds(tmp_path) == 1
    with _agent(tmp_path, answer("The refund went through."), durability=durability) as agent:
        _back_to_the_doubt(agent, thread, durability)
        assert [p.kind for p in agent.pending()] == ["reconcile"]
        assert _refunds(tmp_path) == 1, "an in-doubt non-idempotent call must not re-run by itself"
        with pytest.raises(Forbidden):
            agent.reconcile(thread, done=True, operator_id="u-2", operator_role="write")
        done = agent.reconcile(
            thread, done=True, operator_id="ops-1", operator_role="admin", note="seen in PSP"
        )
        assert done.status == "answered" and _refunds(tmp_path) == 1
        kinds = [(r["kind"], r["approver_id"]) for r in agent.audit(thread_id=thread)]
        assert ("tool_reconciled", "ops-1") in kinds
        assert agent.pending() == []
        decided = [r for r in agent.audit(thread_id=thread) if r["kind"] == "approval_decision"]
        assert len(decided) == 1, "the approval was written again when its task ran again"
        row = agent.services.executions.for_thread(thread)[0]
        assert (row.status, row.resolved_by) == ("reconciled_done", "ops-1")


@pytest.mark.slow
@pytest.mark.parametrize("durability", ["exit", "sync"])
def test_crash_before_side_effect_reconciled_not_done_runs_once(
    tmp_path: Path, durability: str
) -> None:
    thread = _crash_mid_tool(tmp_path, "before", durability)
    assert _refunds(tmp_path) == 0
    with _agent(tmp_path, answer("Refunded now."), durability=durability) as agent:
        _back_to_the_doubt(agent, thread, durability)
        done = agent.reconcile(thread, done=False, operator_id="ops-1", operator_role="admin")
        assert done.status == "answered" and _refunds(tmp_path) == 1
        row = agent.services.executions.for_thread(thread)[0]
        assert (row.status, row.attempts) == ("succeeded", 2)


def test_replayed_execution_returns_recorded_result(make_agent) -> None:
    agent = make_agent(
        config=make_config(retry=FAST_RETRY, checkpoint_durability="sync"),
        model=ScriptedChatModel(
            replies=[
                tool_call("issue_refund", order_id="1001", amount_usd=5.0, reason="x"),
                answer("ok"),
            ]
        ),
    )
    paused = agent.run("refund", user_id="u-1", role="write")
    agent.resume(
        paused.thread_id,
        {"decisions": [{"type": "approve"}]},
        approver_id="a-1",
        approver_role="admin",
    )
    config = {"configurable": {"thread_id": paused.thread_id}}
    before_exec = next(
        s for s in agent.graph.get_state_history(config) if s.next == ("execute_tool",)
    )
    agent.graph.invoke(None, before_exec.config, context={"user_id": "a-1", "role": "admin"})
    assert _refunds(agent.services.paths.root) == 1
    replays = [r for r in agent.audit(thread_id=paused.thread_id) if r["kind"] == "tool_replayed"]
    assert len(replays) == 1 and replays[0]["reason_code"] == "replayed"


def test_stale_interrupt_id_is_refused(make_agent) -> None:
    agent = make_agent(
        model=ScriptedChatModel(
            replies=[
                tool_call("issue_refund", order_id="1001", amount_usd=5.0, reason="x"),
                answer("ok"),
            ]
        )
    )
    paused = agent.run("refund", user_id="u-1", role="write")
    with pytest.raises(InvalidDecision):
        agent.resume(
            paused.thread_id,
            {"decisions": [{"type": "approve"}]},
            approver_id="a-1",
            approver_role="admin",
            interrupt_id="0" * 32,
        )
    assert _refunds(agent.services.paths.root) == 0
    ok = agent.resume(
        paused.thread_id,
        {"decisions": [{"type": "approve"}]},
        approver_id="a-1",
        approver_role="admin",
        interrupt_id=paused.interrupt_id,
    )
    assert ok.status == "answered" and _refunds(agent.services.paths.root) == 1


def test_in_doubt_idempotent_call_reruns_with_the_same_key(make_agent) -> None:
    """A 'started' row left by a crash: an idempotent tool simply runs again, under the same key."""
    from safe_agent.policies.approval import action_digest
    from safe_agent.tools.spec import idempotency_key_for

    args = {"order_id": "1004", "new_address": "7 Harbour Road, Portsmouth"}
    agent = make_agent(
        model=ScriptedChatModel(
            replies=[tool_call("update_shipping_address", **args), answer("moved")]
        )
    )
    call_id = agent.services.model.replies[0].tool_calls[0]["id"]
    digest = action_digest(
        tool_name="update_shipping_address",
        args=args,
        thread_id="t-doubt",
        tool_call_id=call_id,
        policy_version=agent.services.config.approval.version,
    )
    key = idempotency_key_for("t-doubt", call_id)
    assert (
        agent.services.executions.begin(
            key,
            thread_id="t-doubt",
            tool_call_id=call_id,
            digest=digest,
            tool_name="update_shipping_address",
            now=0.0,
        )
        is None
    )
    result = agent.run("move it", user_id="u-1", role="write", thread_id="t-doubt")
    assert result.status == "answered"
    row = agent.services.executions.get(key)
    assert (row.status, row.attempts) == ("succeeded", 2)
    with sqlite3.connect(agent.services.paths.desk) as conn:
        assert (
            conn.execute(
                "select count(*) from address_changes where idempotency_key = ?", [key]
            ).fetchone()[0]
            == 1
        )
