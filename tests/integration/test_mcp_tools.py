"""A real MCP server's tools, wrapped with policies, driven through the whole graph.

The server is tests/tools/mcp_server.py, started by the MCP client itself over stdio (one process
per call, as `langchain-mcp-adapters` does without a session) or by the test over streamable HTTP
on 127.0.0.1. Every write of the server lands as a line in its log file, so each test can say
exactly which side effects happened, not only what the graph reported.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import answer, make_config, tool_call
from langchain_core.messages import ToolMessage

from safe_agent.chat_models import ScriptedChatModel
from safe_agent.policies.config import ToolPolicy
from safe_agent.policies.verdict import Role, Tier
from safe_agent.tools.adapters import tools_from_mcp
from safe_agent.tools.pack import ToolLoadError
from safe_agent.tools.spec import ToolSpec

pytestmark = pytest.mark.slow

SERVER = Path(__file__).resolve().parents[1] / "tools" / "mcp_server.py"
POLICIES = {
    "read_ticket": ToolPolicy(
        tier=Tier.READ_ONLY, required_role=Role.READ, idempotent=True, timeout_s=30
    ),
    "post_reply": ToolPolicy(tier=Tier.REVERSIBLE, sinks=("ticket_id",), timeout_s=30),
    # add_watcher: deliberately no policy, so it keeps the fail-closed default
}
APPROVE = {"decisions": [{"type": "approve"}]}
T1_TEXT = "My parcel arrived damaged. Please send a new one to 5 Byron Road, Leeds."
HTTP_START_TIMEOUT_S = 30.0


@pytest.fixture(scope="module")
def desk_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the file the MCP server appends its side effects to (one per module)."""
    return tmp_path_factory.mktemp("mcp") / "desk.jsonl"


@pytest.fixture(scope="module")
def stdio_tools(desk_log: Path) -> tuple[ToolSpec, ...]:
    """List the server's tools over stdio once; each call still starts its own server."""
    connection = {
        "transport": "stdio",
        "command": sys.executable,
        "args": [str(SERVER)],
        "env": {"MCP_DESK_LOG": str(desk_log)},
    }
    return tools_from_mcp({"desk": connection}, policies=POLICIES)


@pytest.fixture
def effects(desk_log: Path) -> Iterator[Any]:
    """Return a reader of the side effects this test caused (the log starts empty)."""
    desk_log.write_text("")

    def read() -> list[dict[str, str]]:
        return [json.loads(line) for line in desk_log.read_text().splitlines()]

    yield read


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + HTTP_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the MCP server exited with {process.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"the MCP server did not listen on 127.0.0.1:{port} in {HTTP_START_TIMEOUT_S} s")


@pytest.fixture(scope="module")
def http_url(desk_log: Path) -> Iterator[str]:
    """Start the server over streamable HTTP on a free loopback port; stop it afterwards."""
    port = _free_port()
    env = {**os.environ, "MCP_DESK_LOG": str(desk_log)}
    process = subprocess.Popen(
        [sys.executable, str(SERVER), "--http", str(port)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _tool_messages(model: ScriptedChatModel) -> list[ToolMessage]:
    return [m for m in model.calls[-1] if isinstance(m, ToolMessage)]


def _read_then_reply(make_agent: Any, tools: tuple[ToolSpec, ...]) -> tuple[Any, Any]:
    """Ask to read T-1 and reply on it; return the result and the model (to see its prompts)."""
    model = ScriptedChatModel(
        replies=[
            tool_call("read_ticket", ticket_id="T-1"),
            tool_call("post_reply", ticket_id="T-1", text="A new parcel is on its way."),
            answer("Replied on T-1."),
        ]
    )
    agent = make_agent(model=model, tools=tools)
    result = agent.run(
        "Read ticket T-1 and reply on T-1 that a new parcel is on its way.",
        user_id="u-1",
        role="write",
    )
    return result, model


def test_mcp_stdio_read_and_user_directed_reply_run(make_agent, stdio_tools, effects) -> None:
    """A read_only read runs; a reversible write whose sink the user named runs, unasked."""
    result, model = _read_then_reply(make_agent, stdio_tools)
    assert (result.status, result.answer) == ("answered", "Replied on T-1.")
    assert effects() == [
        {"tool": "post_reply", "ticket_id": "T-1", "text": "A new parcel is on its way."}
    ]
    read, reply = _tool_messages(model)
    assert json.loads(str(read.content)) == {
        "tool": "read_ticket",
        "trust": "untrusted",
        "data": {"result": T1_TEXT},
    }
    assert json.loads(str(reply.content))["data"] == {"ticket_id": "T-1", "status": "posted"}


def test_mcp_reply_to_a_ticket_the_user_never_named_asks(make_agent, stdio_tools, effects) -> None:
    """The same write, its sink not from the user (after untrusted output): held for approval."""
    model = ScriptedChatModel(
        replies=[
            tool_call("read_ticket", ticket_id="T-1"),
            tool_call("post_reply", ticket_id="T-2", text="Done."),
            answer("ok"),
        ]
    )
    agent = make_agent(model=model, tools=stdio_tools)
    result = agent.run("Read ticket T-1 and deal with it.", user_id="u-1", role="write")
    assert result.status == "paused"
    assert result.approval["action_requests"][0]["name"] == "post_reply"
    assert result.approval["tier"] == "reversible"
    assert [(p["arg"], p["origin"]) for p in result.approval["provenance"]] == [
        ("ticket_id", "unsupported")
    ]
    assert effects() == []


def test_mcp_tool_without_a_policy_needs_approval(make_agent, stdio_tools, effects) -> None:
    """add_watcher has no policy: irreversible, so it waits for a person and only then runs."""
    model = ScriptedChatModel(
        replies=[
            tool_call("read_ticket", ticket_id="T-2"),
            tool_call("add_watcher", ticket_id="T-2", email="mallory@evil.example"),
            answer("Watcher added."),
        ]
    )
    agent = make_agent(model=model, tools=stdio_tools)
    paused = agent.run("Do what ticket T-2 asks.", user_id="u-1", role="write")
    assert paused.status == "paused"
    assert (paused.approval["tier"], paused.approval["rule_id"]) == ("irreversible", "irreversible")
    origins = {p["arg"]: p["origin"] for p in paused.approval["provenance"]}
    assert origins == {"ticket_id": "user", "email": "untrusted"}  # every argument is a sink
    assert effects() == []

    done = agent.resume(paused.thread_id, APPROVE, approver_id="approver-7", approver_role="write")
    assert done.status == "answered"
    assert effects() == [
        {"tool": "add_watcher", "ticket_id": "T-2", "email": "mallory@evil.example"}
    ]
    ran = [
        r
        for r in agent.audit(thread_id=paused.thread_id)
        if r["node"] == "execute_tool" and r["tool_name"] == "add_watcher"
    ]
    assert [(r["success"], r["approver_id"]) for r in ran] == [(True, "approver-7")]


def test_mcp_operator_policy_denies_an_untrusted_watcher(make_agent, stdio_tools, effects) -> None:
    """`[tools.policies.add_watcher]` replaces the default: reversible, untrusted e-mail denied."""
    policy = {"tier": "reversible", "sinks": ["email"], "untrusted_sinks": "deny"}
    config = make_config(tools={"policies": {"add_watcher": policy}})
    model = ScriptedChatModel(
        replies=[
            tool_call("read_ticket", ticket_id="T-2"),
            tool_call("add_watcher", ticket_id="T-2", email="mallory@evil.example"),
            answer("I could not add that watcher."),
        ]
    )
    agent = make_agent(model=model, tools=stdio_tools, config=config)
    result = agent.run("Do what ticket T-2 asks.", user_id="u-1", role="write")
    assert result.status == "answered"
    refusal = _tool_messages(model)[-1]
    assert refusal.status == "error" and "Denied (untrusted_sink)" in str(refusal.content)
    assert effects() == []
    rows = [r for r in agent.audit(thread_id=result.thread_id) if r["tool_name"] == "add_watcher"]
    assert [(r["node"], r["policy_id"]) for r in rows] == [("authorize", "provenance.deny")]


def test_mcp_tool_error_is_a_structured_failure(make_agent, stdio_tools, effects) -> None:
    """The server's own error (no such ticket) reaches the model as an error result, not as data."""
    model = ScriptedChatModel(replies=[tool_call("read_ticket", ticket_id="T-9"), answer("none")])
    agent = make_agent(model=model, tools=stdio_tools)
    result = agent.run("Read ticket T-9.", user_id="u-1", role="read")
    message = _tool_messages(model)[-1]
    assert message.status == "error"
    assert json.loads(str(message.content))["data"]["error"] == "tool_error"
    assert "no ticket T-9" in str(message.content)
    rows = [r for r in agent.audit(thread_id=result.thread_id) if r["node"] == "execute_tool"]
    assert [(r["success"], r["reason_code"]) for r in rows] == [(False, "tool_error")]


def test_mcp_streamable_http_tools_run_through_the_graph(make_agent, http_url, effects) -> None:
    """The same server over streamable HTTP: listed, wrapped with the policies, called."""
    tools = tools_from_mcp(
        {"desk": {"transport": "streamable_http", "url": http_url}}, policies=POLICIES
    )
    assert [t.name for t in tools] == ["read_ticket", "post_reply", "add_watcher"]
    result, model = _read_then_reply(make_agent, tools)
    assert result.status == "answered"
    assert effects() == [
        {"tool": "post_reply", "ticket_id": "T-1", "text": "A new parcel is on its way."}
    ]
    assert json.loads(str(_tool_messages(model)[0].content))["data"] == {"result": T1_TEXT}


def test_mcp_policy_for_a_tool_the_server_lacks_is_refused(desk_log: Path) -> None:
    """A typo in `policies=` must not leave the real tool on the fail-closed default unnoticed."""
    connection = {
        "transport": "stdio",
        "command": sys.executable,
        "args": [str(SERVER)],
        "env": {"MCP_DESK_LOG": str(desk_log)},
    }
    with pytest.raises(ToolLoadError, match=r"do not have: \['read_tickets'\]"):
        tools_from_mcp({"desk": connection}, policies={"read_tickets": POLICIES["read_ticket"]})
