"""Kill switches stop everything at once: pending approvals are voided, runs past authorize stop.

Before (issue 11): after `safe-agent switch-off tool:issue_refund` in one process, a refund
waiting for approval in another was still listed by `pending`, approving it issued the refund,
and with the `all` switch a refund already approved still ran: `execute_tool` never looked at
the switches, and nothing ever voided a request.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from helpers import answer, tool_call
from langchain_core.messages import HumanMessage, ToolMessage
from langgraph.types import Command

from safe_agent.chat_models import ScriptedChatModel
from safe_agent.checkpoints import open_checkpointer
from safe_agent.errors import Forbidden
from safe_agent.facade import SafeAgent
from safe_agent.graph.context import Context
from safe_agent.stores.principals import PrincipalDirectory
from safe_agent.tools.spec import idempotency_key_for

APPROVE = {"decisions": [{"type": "approve"}]}
REFUND = {"order_id": "1001", "amount_usd": 20.0, "reason": "late"}
APPROVER = Context(user_id="a-1", role="admin")
OPS = {"operator_id": "ops-1", "operator_role": "admin"}


def _rows(agent: SafeAgent, table: str) -> list[tuple]:
    with closing(sqlite3.connect(agent.services.paths.desk)) as db:
        return db.execute(f"SELECT * FROM {table}").fetchall()


def _paused_refund(make_agent, *replies: Any) -> tuple[SafeAgent, Any]:
    model = ScriptedChatModel(
        replies=[tool_call("issue_refund", **REFUND), *(replies or [answer("done")])]
    )
    agent = make_agent(model=model)
    paused = agent.run("Refund $20 on order 1001", user_id="u-1", role="write")
    assert paused.status == "paused" and _rows(agent, "refunds") == []
    return agent, paused


def _config(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def _messages(agent: SafeAgent, thread_id: str) -> list[Any]:
    return agent.graph.get_state(_config(thread_id)).values.get("messages", [])


def _tool_errors(agent: SafeAgent, thread_id: str) -> list[str]:
    return [
        str(m.content)
        for m in _messages(agent, thread_id)
        if isinstance(m, ToolMessage) and m.status == "error"
    ]


def _record(agent: SafeAgent, paused: Any):
    return agent.services.decisions.get(
        thread_id=paused.thread_id,
        tool_call_id=paused.approval["tool_call_id"],
        digest=paused.approval["action_digest"],
    )


def _switch_off_in_another_process(home: Path, target: str, reason: str) -> dict[str, Any]:
    directory = PrincipalDirectory(home / "principals.sqlite")
    _, ops_key = directory.bootstrap("ops-1", now=0.0)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "safe_agent",
            "switch-off",
            target,
            "--reason",
            reason,
            "--home",
            str(home),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "SAFE_AGENT_API_KEY": ops_key},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("target", ["tool:issue_refund", "all"])
def test_a_switch_in_another_process_voids_the_pending_refund(
    make_agent, tmp_path: Path, target: str
) -> None:
    agent, paused = _paused_refund(make_agent)
    shown = _switch_off_in_another_process(tmp_path / "var", target, "payment provider incident")
    assert [p.thread_id for p in agent.pending()] == []  # no longer listed
    assert [v["thread_id"] for v in shown.get("voided", [])] == [paused.thread_id]
    with pytest.raises(Forbidden, match="payment provider incident") as refused:
        agent.resume(paused.thread_id, APPROVE, approver_id="a-1", approver_role="admin")
    assert target in str(refused.value) and "voided" in str(refused.value)
    assert _rows(agent, "refunds") == []
    assert _record(agent, paused).status == "voided"
    told = agent.result(paused.thread_id)  # the requester's thread carries the void
    assert (told.status, told.reason_code) == ("halted", "kill_switch") and "voided" in told.answer
    assert any("voided" in t and "kill_switch" in t for t in _tool_errors(agent, paused.thread_id))
    rows = agent.audit(thread_id=paused.thread_id)
    voids = [r for r in rows if r["kind"] == "approval_voided" and r["node"] == "operator"]
    assert len(voids) == 1 and "payment provider incident" in voids[0]["detail"]
    assert voids[0]["reason_code"] == "kill_switch" and voids[0]["user_id"] == "ops-1"
    assert "tool_execution" not in [r["kind"] for r in rows]


def test_an_approval_sent_straight_to_the_graph_after_the_switch_is_refused(
    make_agent, tmp_path: Path
) -> None:
    """A server's threads live in its own checkpoint file: the switch only voids the ledger row."""
    agent, paused = _paused_refund(make_agent)
    elsewhere = SafeAgent(
        agent.services, checkpointer=open_checkpointer(tmp_path / "server-checkpoints.sqlite")
    )
    try:
        elsewhere.switch_off("tool:issue_refund", reason="chargeback storm", **OPS)
    finally:
        elsewhere.close()
    out = agent.graph.invoke(
        Command(resume={paused.interrupt_id: APPROVE}), _config(paused.thread_id), context=APPROVER
    )
    assert _rows(agent, "refunds") == []
    assert any(
        "voided" in t and "chargeback storm" in t for t in _tool_errors(agent, paused.thread_id)
    )
    assert out.get("outcome") == "halted" and not out.get("__interrupt__")
    kinds = [(r["node"], r["kind"]) for r in agent.audit(thread_id=paused.thread_id)]
    assert ("approval", "approval_voided") in kinds and (
        "execute_tool",
        "tool_execution",
    ) not in kinds


def test_a_switch_the_ledger_has_not_seen_yet_is_still_honoured_by_the_approval_node(
    make_agent,
) -> None:
    agent, paused = _paused_refund(make_agent)
    agent.services.switches.switch_off(
        "user:u-1", reason="account under review", set_by="ops-1", now=0.0
    )
    agent.graph.invoke(
        Command(resume={paused.interrupt_id: APPROVE}), _config(paused.thread_id), context=APPROVER
    )
    assert _rows(agent, "refunds") == [] and _record(agent, paused).status == "voided"
    assert any("account under review" in t for t in _tool_errors(agent, paused.thread_id))


def test_switching_back_on_does_not_revive_a_voided_approval(make_agent) -> None:
    agent, paused = _paused_refund(make_agent)
    agent.switch_off("tool:issue_refund", reason="incident", **OPS)
    assert agent.switch_on("tool:issue_refund", **OPS) is True
    with pytest.raises(Forbidden, match="voided"):
        agent.resume(paused.thread_id, APPROVE, approver_id="a-1", approver_role="admin")
    assert _rows(agent, "refunds") == [] and agent.pending() == []


def test_switching_back_on_does_not_revive_it_through_the_graph_either(
    make_agent, tmp_path: Path
) -> None:
    agent, paused = _paused_refund(make_agent)
    elsewhere = SafeAgent(
        agent.services, checkpointer=open_checkpointer(tmp_path / "server-checkpoints.sqlite")
    )
    try:
        elsewhere.switch_off("tool:issue_refund", reason="incident", **OPS)
        elsewhere.switch_on("tool:issue_refund", **OPS)
    finally:
        elsewhere.close()
    assert agent.pending() == []
    agent.graph.invoke(
        Command(resume={paused.interrupt_id: APPROVE}), _config(paused.thread_id), context=APPROVER
    )
    assert _rows(agent, "refunds") == [] and _record(agent, paused).status == "voided"


@pytest.mark.parametrize("target", ["tool:issue_refund", "all", "user:u-1"])
def test_a_run_already_past_approval_is_stopped_at_execute_tool(make_agent, target: str) -> None:
    agent, paused = _paused_refund(make_agent)
    agent.graph.invoke(
        Command(resume={paused.interrupt_id: APPROVE}),
        _config(paused.thread_id),
        context=APPROVER,
        interrupt_before=["execute_tool"],
    )
    assert agent.graph.get_state(_config(paused.thread_id)).next == ("execute_tool",)
    assert _record(agent, paused).status == "approved"
    agent.switch_off(target, reason="stop everything now", **OPS)
    agent.graph.invoke(None, _config(paused.thread_id), context=APPROVER)
    assert _rows(agent, "refunds") == []
    key = idempotency_key_for(paused.thread_id, paused.approval["tool_call_id"])
    assert agent.services.executions.get(key) is None  # the execution ledger got no effect
    assert _record(agent, paused).status == "voided"
    [stop] = [t for t in _tool_errors(agent, paused.thread_id) if "kill_switch" in t]
    assert "stop everything now" in stop and target in stop
    rows = [r for r in agent.audit(thread_id=paused.thread_id) if r["node"] == "execute_tool"]
    assert [(r["kind"], r["reason_code"]) for r in rows] == [("tool_stopped", "kill_switch")]


def test_the_all_switch_stops_an_allowed_read_past_authorize(make_agent) -> None:
    agent = make_agent(
        model=ScriptedChatModel(replies=[tool_call("get_order", order_id="1001"), answer("ok")])
    )
    config = _config("t-read")
    me = Context(user_id="u-1", role="read")
    agent.graph.invoke(
        {"messages": [HumanMessage("status of 1001?")]},
        config,
        context=me,
        interrupt_before=["execute_tool"],
    )
    agent.switch_off("all", reason="incident 4711", **OPS)
    out = agent.graph.invoke(None, config, context=me)
    assert out["outcome"] == "halted" and out["halt"]["reason_code"] == "kill_switch"
    assert any("incident 4711" in t for t in _tool_errors(agent, "t-read"))
    assert "tool_execution" not in [r["kind"] for r in agent.audit(thread_id="t-read")]


def test_writes_switch_refuses_writes_at_authorize_and_execute_tool_but_reads_run(
    make_agent,
) -> None:
    me = Context(user_id="u-1", role="write")
    past_authorize = make_agent(
        model=ScriptedChatModel(
            replies=[
                tool_call(
                    "update_shipping_address",
                    order_id="1001",
                    new_address="1 New Street, Springfield",
                ),
                tool_call("get_order", order_id="1001"),
                answer("ok"),
            ]
        )
    )
    past_authorize.graph.invoke(
        {"messages": [HumanMessage("move my order")]},
        _config("t-exec"),
        context=me,
        interrupt_before=["execute_tool"],
    )
    past_reason = make_agent(
        model=ScriptedChatModel(replies=[tool_call("issue_refund", **REFUND), answer("ok")])
    )
    past_reason.graph.invoke(
        {"messages": [HumanMessage("refund")]},
        _config("t-auth"),
        context=me,
        interrupt_before=["authorize"],
    )
    past_reason.switch_off("writes", reason="read-only mode", **OPS)
    past_authorize.graph.invoke(None, _config("t-exec"), context=me)
    assert _rows(past_authorize, "address_changes") == []
    errors = _tool_errors(past_authorize, "t-exec")
    assert any("kill_switch" in e and "writes" in e and "read-only mode" in e for e in errors)
    reads = [
        m
        for m in _messages(past_authorize, "t-exec")
        if isinstance(m, ToolMessage) and m.name == "get_order"
    ]
    assert [m.status for m in reads] == ["success"]
    past_reason.graph.invoke(None, _config("t-auth"), context=me)
    assert past_reason.pending() == [] and _rows(past_reason, "refunds") == []
    assert any("kill_switch" in e and "writes" in e for e in _tool_errors(past_reason, "t-auth"))


def test_writes_switch_voids_a_pending_refund_but_a_read_tool_switch_does_not(make_agent) -> None:
    agent, paused = _paused_refund(make_agent)
    agent.switch_off("tool:get_order", reason="db maintenance", **OPS)
    assert [p.thread_id for p in agent.pending()] == [paused.thread_id]
    agent.switch_off("writes", reason="read-only mode", **OPS)
    assert agent.pending() == [] and _record(agent, paused).status == "voided"


def test_model_switch_voids_what_that_model_proposed(make_agent) -> None:
    agent, paused = _paused_refund(make_agent)
    proposer = next(m for m in _messages(agent, paused.thread_id) if getattr(m, "tool_calls", None))
    name = proposer.response_metadata.get("safe_agent_model")
    agent.switch_off("model:some-other-model", reason="bad release", **OPS)
    assert [p.thread_id for p in agent.pending()] == [paused.thread_id]
    if name:  # set by the reason node: the exact model voids it
        agent.switch_off(f"model:{name}", reason="bad release", **OPS)
    else:  # not recorded: only the every-model switch covers it
        agent.switch_off("model", reason="bad release", **OPS)
    assert agent.pending() == [] and _record(agent, paused).status == "voided"


def _in_doubt_at_reconcile(make_agent) -> tuple[SafeAgent, Any]:
    """A refund that ran while its process died: the thread pauses to ask whether it happened."""
    agent, paused = _paused_refund(make_agent, answer("done"), answer("done"))
    record = _record(agent, paused)
    agent.services.decisions.record_approved(
        request=record,
        digest=record.digest,
        approvals=["a-1"],
        decided_by="a-1",
        now=agent.services.clock(),
    )
    call_id = paused.approval["tool_call_id"]
    key = idempotency_key_for(paused.thread_id, call_id)
    agent.services.executions.begin(
        key,
        thread_id=paused.thread_id,
        tool_call_id=call_id,
        digest=record.digest,
        tool_name="issue_refund",
        now=agent.services.clock(),
    )
    from safe_agent.tools.spec import ToolCallContext

    spec = agent.services.tools["issue_refund"]
    ctx = ToolCallContext(
        user_id="u-1",
        thread_id=paused.thread_id,
        tool_call_id=call_id,
        idempotency_key=key,
        resources=agent.services.resources,
    )
    spec.run(spec.args_schema.model_validate(REFUND), ctx)
    agent.graph.invoke(
        Command(resume={paused.interrupt_id: APPROVE}), _config(paused.thread_id), context=APPROVER
    )
    pending = agent.pending_for(paused.thread_id)
    assert (
        pending is not None
        and pending.kind == "reconcile"
        and not pending.request.get("from_ledger")
    )
    return agent, paused


@pytest.mark.parametrize("done", [True, False], ids=["done", "not-done"])
def test_an_in_doubt_call_is_reconciled_under_a_switch_and_never_re_run(
    make_agent, done: bool
) -> None:
    agent, paused = _in_doubt_at_reconcile(make_agent)
    agent.switch_off("tool:issue_refund", reason="incident", **OPS)
    agent.reconcile(paused.thread_id, done=done, note="checked the PSP", **OPS)
    assert len(_rows(agent, "refunds")) == 1  # the crashed attempt's refund, never a second one
    key = idempotency_key_for(paused.thread_id, paused.approval["tool_call_id"])
    status = agent.services.executions.get(key).status
    assert status == ("reconciled_done" if done else "reconciled_not_done")
    assert agent.pending() == []


def test_an_older_decision_ledger_gains_the_switch_columns(tmp_path: Path) -> None:
    from safe_agent.stores.decisions import DecisionLedger

    path = tmp_path / "safety.sqlite"
    with closing(sqlite3.connect(path)) as db:
        db.execute(
            "CREATE TABLE decisions (thread_id TEXT NOT NULL, tool_call_id TEXT NOT NULL, "
            "digest TEXT NOT NULL, "
            "tool_name TEXT NOT NULL, run_id TEXT NOT NULL, requester_id TEXT NOT NULL, "
            "status TEXT NOT NULL, "
            "rule_id TEXT, approver_role TEXT, approver_groups TEXT NOT NULL DEFAULT '[]', "
            "quorum INTEGER "
            "NOT NULL DEFAULT 1, expires_at REAL, approvals TEXT NOT NULL DEFAULT '[]', "
            "decided_by TEXT, "
            "created_at REAL NOT NULL, decided_at REAL, "
            "PRIMARY KEY (thread_id, tool_call_id, digest))"
        )
        db.execute(
            "INSERT INTO decisions (thread_id, tool_call_id, digest, tool_name, run_id, "
            "requester_id, status, "
            "created_at) VALUES ('t', 'c', 'd', 'issue_refund', 'r', 'u-1', 'requested', 0)"
        )
        db.commit()
    ledger = DecisionLedger(path)
    [old] = ledger.void_requests(
        lambda r: r.tenant is None and r.model is None, reason="why", decided_by="ops", now=1.0
    )
    assert old.tool_name == "issue_refund" and ledger.voided("t")[0].reason == "why"
