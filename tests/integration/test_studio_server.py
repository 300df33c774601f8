"""End to end through the Studio server: `langgraph dev` loads the graph, pauses for approval,
takes the approver from the resume request's API key, and keeps threads across a restart.

The server is started by the `studio_server` fixture (tests/integration/conftest.py) with its
data folder under tmp_path, offline (built-in planner, no tracing, no analytics). The requester
and the approver are principals in the server's directory, each calling with their own key;
the attacks on that are in test_server_auth.py.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from safe_agent.stores.audit import AuditLog

if TYPE_CHECKING:
    from tests.integration.conftest import StudioServer

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]

NODES = {
    "validate_input",
    "budget_check",
    "breaker_check",
    "reason",
    "authorize",
    "approval",
    "execute_tool",
    "validate_output",
    "audit",
}
REFUND_PROMPT = "Please refund $25 on order 1001, it arrived damaged"
REQUESTER = {"user_id": "u-req", "role": "write"}
APPROVER = {"user_id": "approver-7", "role": "admin"}
APPROVE = {"decisions": [{"type": "approve"}]}


def _refunds_for(data: Path, order_id: str) -> int:
    with closing(sqlite3.connect(data / "desk.sqlite")) as db:
        return db.execute(
            "SELECT count(*) FROM refunds WHERE order_id = ?", (order_id,)
        ).fetchone()[0]


def _studio_checkpoints_for(data: Path, thread_id: str) -> int:
    with closing(sqlite3.connect(data / "studio-checkpoints.sqlite")) as db:
        return db.execute(
            "SELECT count(*) FROM checkpoints WHERE thread_id = ?", (thread_id,)
        ).fetchone()[0]


def _keys(server: StudioServer) -> tuple[str, str]:
    """Add the requester and the approver to the server's directory; return their keys."""
    requester = server.add_principal(REQUESTER["user_id"], role=REQUESTER["role"])
    approver = server.add_principal(APPROVER["user_id"], role=APPROVER["role"])
    return requester, approver


def _ask_for_refund(server: StudioServer, client: Any) -> str:
    """Start a thread whose run pauses at approval for the $25 refund; return its id."""
    thread_id = client.threads.create()["thread_id"]
    run = server.run(
        client,
        thread_id,
        input={"messages": [{"role": "user", "content": REFUND_PROMPT}]},
        context=REQUESTER,
    )
    assert run["status"] == "success", (
        server.log_tail()
    )  # a run that pauses at interrupt() succeeds
    _assert_paused_for_refund(client, thread_id)
    return thread_id


def _assert_paused_for_refund(client: Any, thread_id: str) -> dict[str, Any]:
    state = client.threads.get_state(thread_id)
    assert state["next"] == ["approval"]
    assert len(state["interrupts"]) == 1, state["interrupts"]
    request = state["interrupts"][0]["value"]
    assert request["action_requests"][0]["name"] == "issue_refund"
    assert request["action_requests"][0]["args"]["order_id"] == "1001"
    assert request["requested_by"] == "u-req"
    assert client.threads.get(thread_id)["status"] == "interrupted"
    return request


def test_exported_graph_and_checkpointer_have_the_shapes_the_server_expects(tmp_path: Path) -> None:
    """langgraph.json names a graph compiled without a checkpointer and a checkpointer factory."""
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from safe_agent.graph import studio, studio_checkpointer
    from safe_agent.policies.config import SafetyConfig

    config = json.loads((REPO_ROOT / "langgraph.json").read_text())
    assert config["graphs"]["safe_agent"] == "./graph/studio.py:graph"
    assert config["checkpointer"]["path"] == "./graph/studio_checkpointer.py:checkpointer"
    assert config["auth"] == {"path": "./graph/auth.py:auth", "disable_studio_auth": True}

    assert studio.graph.checkpointer is None  # the server supplies its own
    assert studio.graph.config["recursion_limit"] == SafetyConfig().recursion_limit
    assert NODES <= set(studio.graph.nodes)

    async def enter() -> tuple[object, Path]:
        async with studio_checkpointer.checkpointer() as saver:
            return saver, studio_checkpointer.studio_checkpoints_path()

    saver, path = asyncio.run(enter())
    assert isinstance(saver, AsyncSqliteSaver)
    assert path == tmp_path / "var" / "studio-checkpoints.sqlite" and path.exists()


def test_studio_server_approval_flow_and_restart(studio_server: StudioServer) -> None:
    data = studio_server.data
    requester_key, approver_key = _keys(studio_server)
    client = studio_server.client(requester_key)

    assistant_id = client.assistants.search(graph_id="safe_agent")[0]["assistant_id"]
    graph = client.assistants.get_graph(assistant_id)
    assert {node["id"] for node in graph["nodes"]} - {"__start__", "__end__"} == NODES
    context_schema = client.assistants.get_schemas(assistant_id)["context_schema"]
    assert {"user_id", "role", "tenant", "session_id"} <= set(context_schema["properties"])
    assert not {"user_id", "role"} & set(context_schema.get("required", []))  # the key says who

    thread_id = _ask_for_refund(studio_server, client)
    assert _refunds_for(data, "1001") == 0  # nothing happens before a person decides

    client.close()
    client = studio_server.client(approver_key)
    run = studio_server.run(client, thread_id, command={"resume": APPROVE}, context=APPROVER)
    assert run["status"] == "success", studio_server.log_tail()
    state = client.threads.get_state(thread_id)
    assert state["next"] == [] and state["interrupts"] == []
    last = state["values"]["messages"][-1]
    assert last["type"] == "ai" and "issued" in last["content"] and "1001" in last["content"], last

    rows = AuditLog(data / "audit.sqlite").records(thread_id=thread_id)
    decisions = [r for r in rows if r["kind"] == "approval_decision"]
    assert [(r["approver_id"], r["success"]) for r in decisions] == [("approver-7", True)], (
        decisions
    )
    executions = [r for r in rows if r["kind"] == "tool_execution"]
    assert [(r["tool_name"], r["success"]) for r in executions] == [("issue_refund", True)], (
        executions
    )
    assert _refunds_for(data, "1001") == 1
    assert (
        _studio_checkpoints_for(data, thread_id) > 0
    )  # the durable checkpointer, not the server's own

    history = [
        s["checkpoint"]["checkpoint_id"] for s in client.threads.get_history(thread_id, limit=100)
    ]
    assert history
    client.close()

    studio_server.restart()
    client = studio_server.client(approver_key)
    assert client.threads.get(thread_id)["status"] == "idle"
    after = [
        s["checkpoint"]["checkpoint_id"] for s in client.threads.get_history(thread_id, limit=100)
    ]
    assert after == history
    assert (
        client.threads.get_state(thread_id)["values"]["messages"][-1]["content"] == last["content"]
    )
    client.close()


def test_decisions_that_do_not_count_leave_the_thread_paused(studio_server: StudioServer) -> None:
    data = studio_server.data
    requester_key, approver_key = _keys(studio_server)
    client = studio_server.client(requester_key)
    approver = studio_server.client(approver_key)
    thread_id = _ask_for_refund(studio_server, client)

    # A malformed decision: the run may fail, but the thread must stay paused at the same request.
    bad = studio_server.run(
        approver,
        thread_id,
        command={"resume": {"decisions": [{"type": "maybe"}]}},
        context=APPROVER,
    )
    assert bad["status"] == "success", (
        studio_server.log_tail()
    )  # refused and asked again, never `error`
    state = client.threads.get_state(thread_id)
    assert state["next"] == ["approval"] and len(state["interrupts"]) == 1, state
    assert state["interrupts"][0]["value"]["requested_by"] == "u-req"

    # The approver is whoever holds the resuming key: the requester's own resume is refused by the
    # graph (approver_is_requester) and the thread pauses again.
    own = studio_server.run(client, thread_id, command={"resume": APPROVE}, context=REQUESTER)
    assert own["status"] == "success", studio_server.log_tail()
    request = _assert_paused_for_refund(client, thread_id)
    assert "approver_is_requester" in (request["last_refusal"] or ""), request
    assert _refunds_for(data, "1001") == 0

    good = studio_server.run(
        approver, thread_id, command={"resume": APPROVE}
    )  # no context: the key says who
    assert good["status"] == "success", studio_server.log_tail()
    state = client.threads.get_state(thread_id)
    assert state["next"] == [] and state["interrupts"] == []
    assert _refunds_for(data, "1001") == 1
    decisions = [
        (r["approver_id"], r["success"])
        for r in AuditLog(data / "audit.sqlite").records(thread_id=thread_id)
        if r["kind"] == "approval_decision"
    ]
    assert decisions == [("approver-7", False), ("u-req", False), ("approver-7", True)]
    client.close()
    approver.close()
