"""The CLI shows a batched review and the provenance warning; `--approve` answers every action."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

from click.testing import CliRunner
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from safe_agent import SafeAgent, build_services
from safe_agent.chat_models import ScriptedChatModel
from safe_agent.cli import cli
from safe_agent.settings import data_paths
from safe_agent.stores.principals import PrincipalDirectory

NOW = 1_800_000_000.0
ATTACKER = "9 Evil Street, Harrow"


def _respond(messages: list[BaseMessage]) -> AIMessage:
    last = messages[-1]
    if isinstance(last, HumanMessage):
        return AIMessage(
            content="", tool_calls=[{"id": "k1", "name": "search_kb", "args": {"query": "moving"}}]
        )
    if isinstance(last, ToolMessage) and last.name == "search_kb":
        return AIMessage(
            content="",
            tool_calls=[
                {
                    "id": "w1",
                    "name": "update_shipping_address",
                    "args": {"order_id": "1001", "new_address": ATTACKER},
                },
                {
                    "id": "w2",
                    "name": "issue_refund",
                    "args": {"order_id": "1001", "amount_usd": 5.0, "reason": "moving"},
                },
            ],
        )
    return AIMessage(content="Done.")


def test_pending_shows_the_batch_and_the_untrusted_source_and_approve_answers_all() -> None:
    directory = PrincipalDirectory(data_paths().principals)
    admin_key = directory.bootstrap("ops-1", now=NOW)[1]
    directory.add("u-123", role="write", now=NOW)
    approver_key = directory.add("approver-7", role="admin", now=NOW)[1]
    with SafeAgent(build_services(model=ScriptedChatModel(respond=_respond))) as agent:
        paused = agent.run("I am moving, please sort out order 1001", user_id="u-123", role="write")
        assert paused.status == "paused" and len(paused.approval["action_requests"]) == 2
    listed = CliRunner().invoke(cli, ["pending"], env={"SAFE_AGENT_API_KEY": admin_key})
    assert listed.exit_code == 0, listed.output
    assert "new_address: unsupported" in listed.stdout or "new_address: untrusted" in listed.stdout
    assert "and in the same review: issue_refund" in listed.stdout
    done = CliRunner().invoke(
        cli,
        ["resume", paused.thread_id, "--approve", "--json"],
        env={"SAFE_AGENT_API_KEY": approver_key},
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["status"] == "answered"
    with closing(sqlite3.connect(data_paths().desk)) as db:
        assert db.execute("SELECT COUNT(*) FROM refunds").fetchone()[0] == 1
        assert db.execute("SELECT new_address FROM address_changes").fetchall() == [(ATTACKER,)]
