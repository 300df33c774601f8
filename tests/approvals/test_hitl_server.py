"""LangChain HITL clients against the real server (`langgraph dev`, real `langgraph-sdk` client).

A resume the approval node cannot read (an unknown decision type, the wrong number of
decisions, a payload that is not a HITL response) must leave the thread interrupted at the same
request, audited, with the client's run ending without `error`. `respond` and the JS SDK's edit
shape work through the server as they do through Python.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import pytest

from safe_agent.stores.audit import AuditLog
from tests.integration.conftest import StudioServer, module_server  # noqa: F401 - the fixture

pytestmark = pytest.mark.slow

REFUND_PROMPT = "Please refund $25 on order 1001, it arrived damaged"
EDITED = {
    "name": "issue_refund",
    "args": {"order_id": "1001", "amount_usd": 7.0, "reason": "damaged"},
}


@dataclass(frozen=True)
class Keys:
    """API keys of the module's requester and approver."""

    requester: str
    approver: str


@pytest.fixture(scope="module")
def keys(module_server: StudioServer) -> Keys:  # noqa: F811 - the imported fixture
    """Add the requester and an admin approver to the running server's directory."""
    return Keys(
        requester=module_server.add_principal("u-hitl", role="write"),
        approver=module_server.add_principal("hitl-admin", role="admin"),
    )


def _refunds(server: StudioServer) -> list[float]:
    with closing(sqlite3.connect(server.data / "desk.sqlite")) as db:
        return [r[0] for r in db.execute("SELECT amount_usd FROM refunds ORDER BY rowid")]


def _decisions(server: StudioServer, thread_id: str) -> list[dict[str, Any]]:
    rows = AuditLog(server.data / "audit.sqlite").records(thread_id=thread_id)
    return [r for r in rows if r["kind"] == "approval_decision"]


def _paused(server: StudioServer, keys: Keys) -> tuple[Any, str, dict[str, Any]]:
    """The requester asks for the $25 refund; return the approver's client, thread and request."""
    requester = server.client(keys.requester)
    thread_id = requester.threads.create()["thread_id"]
    run = server.run(
        requester, thread_id, input={"messages": [{"role": "user", "content": REFUND_PROMPT}]}
    )
    assert run["status"] == "success", server.log_tail()
    requester.close()
    approver = server.client(keys.approver)
    state = approver.threads.get_state(thread_id)
    assert state["next"] == ["approval"], state
    return approver, thread_id, state["interrupts"][0]["value"]


BAD_RESUMES = [
    ({"decisions": [{"type": "defer"}]}, "invalid_decision"),
    ({"decisions": [{"type": "approve"}, {"type": "approve"}]}, "decision_count"),
    ({"decisions": [{"type": "approve", "note": "ok"}]}, "invalid_decision"),
    (
        {
            "decisions": [
                {
                    "type": "edit",
                    "editedAction": EDITED,
                    "edited_action": {**EDITED, "args": {**EDITED["args"], "amount_usd": 900.0}},
                }
            ]
        },
        "invalid_decision",
    ),
    ("yes", "invalid_decision"),
    ({"decisions": []}, "invalid_decision"),
]


def test_hitl_server_invalid_resumes_leave_the_thread_interrupted(
    module_server: StudioServer,  # noqa: F811
    keys: Keys,
) -> None:
    server = module_server
    before = len(_refunds(server))
    approver, thread_id, request = _paused(server, keys)
    for payload, code in BAD_RESUMES:
        run = server.run(approver, thread_id, command={"resume": payload})
        assert run["status"] == "success", (payload, server.log_tail())  # never `error`
        assert approver.threads.get(thread_id)["status"] == "interrupted", payload
        state = approver.threads.get_state(thread_id)
        assert state["next"] == ["approval"] and len(state["interrupts"]) == 1, (payload, state)
        again = state["interrupts"][0]["value"]
        assert again["action_digest"] == request["action_digest"], payload  # the same request
        assert again["tool_call_id"] == request["tool_call_id"]
        assert (again["last_refusal"] or "").startswith(code), (payload, again["last_refusal"])
    assert len(_refunds(server)) == before  # nothing ran
    refused = _decisions(server, thread_id)
    assert [(r["approver_id"], r["success"], r["reason_code"]) for r in refused] == [
        ("hitl-admin", False, code) for _, code in BAD_RESUMES
    ]
    done = server.run(approver, thread_id, command={"resume": {"decisions": [{"type": "approve"}]}})
    assert done["status"] == "success", server.log_tail()
    assert approver.threads.get(thread_id)["status"] == "idle"
    assert len(_refunds(server)) == before + 1
    approver.close()


def test_hitl_server_respond_answers_the_model_without_running_the_tool(
    module_server: StudioServer,  # noqa: F811
    keys: Keys,
) -> None:
    server = module_server
    before = len(_refunds(server))
    approver, thread_id, request = _paused(server, keys)
    assert "respond" in request["review_configs"][0]["allowed_decisions"]
    reply = "Refunded by phone on ticket 42"
    run = server.run(
        approver,
        thread_id,
        command={"resume": {"decisions": [{"type": "respond", "message": reply}]}},
    )
    assert run["status"] == "success", server.log_tail()
    assert approver.threads.get(thread_id)["status"] == "idle"
    messages = approver.threads.get_state(thread_id)["values"]["messages"]
    [tool] = [m for m in messages if m["type"] == "tool"]
    assert (tool["tool_call_id"], tool["content"], tool["status"]) == (
        request["tool_call_id"],
        reply,
        "success",
    )
    assert len(_refunds(server)) == before
    [row] = _decisions(server, thread_id)
    assert (row["approver_id"], row["reason_code"], row["input"]["decision"]) == (
        "hitl-admin",
        "responded",
        "respond",
    )
    approver.close()


def test_hitl_server_js_sdk_edit_payload_runs_the_edited_call(
    module_server: StudioServer,  # noqa: F811
    keys: Keys,
) -> None:
    server = module_server
    before = len(_refunds(server))
    approver, thread_id, _ = _paused(server, keys)
    run = server.run(
        approver,
        thread_id,
        command={
            "resume": {
                "decisions": [{"type": "edit", "editedAction": EDITED, "edited_action": EDITED}]
            }
        },
    )
    assert run["status"] == "success", server.log_tail()
    assert approver.threads.get(thread_id)["status"] == "idle"
    assert _refunds(server)[before:] == [7.0]
    approver.close()
