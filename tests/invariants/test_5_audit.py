"""Invariant 5 and 7: every decision is audited once, redacted, and the log verifies.

Or it says where not.
"""

from __future__ import annotations

import json
import sqlite3

from helpers import answer, tool_call

from safe_agent.chat_models import ScriptedChatModel
from safe_agent.stores.audit import AuditLog

REQUIRED = (
    "event_id",
    "timestamp",
    "node",
    "kind",
    "thread_id",
    "run_id",
    "user_id",
    "step",
    "cost_usd",
    "latency_ms",
    "success",
    "hash",
    "prev_hash",
)
SECRET = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"


def test_audit_every_run_writes_complete_rows(make_agent) -> None:
    model = ScriptedChatModel(
        replies=[tool_call("get_order", order_id="1001"), answer("It is processing.")]
    )
    agent = make_agent(model=model)
    result = agent.run("status of order 1001?", user_id="u-9", role="read", session_id="s-1")
    rows = agent.audit(thread_id=result.thread_id)
    kinds = [r["kind"] for r in rows]
    assert kinds == [
        "input_verdict",
        "budget_verdict",
        "breaker_verdict",
        "model_call",
        "authorization",
        "tool_execution",
        "budget_verdict",
        "breaker_verdict",
        "model_call",
        "output_verdict",
        "run_outcome",
    ]
    for row in rows:
        for field in REQUIRED:
            assert field in row
        assert (
            row["user_id"] == "u-9"
            and row["thread_id"] == result.thread_id
            and row["session_id"] == "s-1"
        )
    model_rows = [r for r in rows if r["kind"] == "model_call"]
    assert sum(r["cost_usd"] for r in rows) == sum(r["cost_usd"] for r in model_rows)
    assert abs(sum(r["cost_usd"] for r in model_rows) - result.cost_usd) < 1e-9
    assert all(r["tokens_in"] > 0 for r in model_rows)
    assert agent.services.audit.verify().ok


def test_audit_never_stores_raw_secrets_or_pii(make_agent) -> None:
    model = ScriptedChatModel(
        replies=[
            tool_call(
                "send_email",
                to="jane.doe@example.com",
                subject="key",
                body=f"your key is {SECRET}, card 4111 1111 1111 1111",
            ),
            answer(f"Sent to jane.doe@example.com with {SECRET}"),
        ]
    )
    agent = make_agent(model=model)
    paused = agent.run("email jane.doe@example.com the key", user_id="u-1", role="write")
    agent.resume(
        paused.thread_id,
        {"decisions": [{"type": "approve"}]},
        approver_id="boss",
        approver_role="admin",
    )
    raw = (
        sqlite3.connect(agent.services.paths.audit).execute("select * from audit_events").fetchall()
    )
    dump = json.dumps(raw, default=str)
    for needle in (SECRET, "jane.doe@example.com", "4111 1111 1111 1111"):
        assert needle not in dump
    assert "[REDACTED_EMAIL]" in dump and "[REDACTED_API_KEY]" in dump


def test_audit_replayed_events_are_written_once(tmp_path) -> None:
    log = AuditLog(tmp_path / "a.sqlite")
    event = {"event_id": "e1", "timestamp": "2026-11-22T00:00:00+00:00", "node": "n", "kind": "k"}
    assert log.append([event]) == 1
    assert log.append([event, {**event, "event_id": "e2"}]) == 1
    assert [r["event_id"] for r in log.records()] == ["e1", "e2"]


def test_audit_chain_names_the_altered_row(tmp_path) -> None:
    log = AuditLog(tmp_path / "a.sqlite")
    log.append(
        [
            {"event_id": f"e{i}", "timestamp": "t", "node": "n", "kind": "k", "detail": f"d{i}"}
            for i in range(5)
        ]
    )
    assert log.verify().ok
    conn = sqlite3.connect(tmp_path / "a.sqlite")
    try:
        conn.execute("update audit_events set detail = 'forged' where event_id = 'e2'")
        raise AssertionError("the append-only trigger must refuse UPDATE")
    except sqlite3.IntegrityError:
        pass
    conn.execute("drop trigger audit_events_no_update")
    conn.execute("update audit_events set detail = 'forged' where event_id = 'e2'")
    conn.commit()
    check = log.verify()
    assert not check.ok and check.first_bad_seq == 3
