"""`safe-agent resume --respond --message TEXT`: LangChain's `respond` decision from the CLI.

The call is not run; the model reads the approver's message as the call's result. Before this
option the CLI could only approve, reject or edit, so a person at a terminal had no way to answer
in the tool's place.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from typing import Any

import pytest
from click.testing import CliRunner
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from safe_agent import SafeAgent, build_services
from safe_agent.chat_models import ScriptedChatModel
from safe_agent.cli import cli
from safe_agent.settings import data_paths
from safe_agent.stores.principals import PrincipalDirectory

NOW = 1_800_000_000.0
REPLY = "Already refunded by phone on ticket 42"
SEEN: list[str] = []


def _respond(messages: list[BaseMessage]) -> AIMessage:
    if isinstance(messages[-1], HumanMessage):
        refund = {"order_id": "1001", "amount_usd": 25.0, "reason": "damaged"}
        return AIMessage(
            content="", tool_calls=[{"id": "r1", "name": "issue_refund", "args": refund}]
        )
    if isinstance(messages[-1], ToolMessage):
        SEEN.append(str(messages[-1].content))
    return AIMessage(content="Done.")


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.delenv("SAFE_AGENT_API_KEY", raising=False)
    model = ScriptedChatModel(respond=_respond)

    def open_with_model(cls: type[SafeAgent], root: Any = None, **kwargs: Any) -> SafeAgent:
        return cls(build_services(root=root, model=model, **kwargs))

    monkeypatch.setattr(SafeAgent, "open", classmethod(open_with_model))
    directory = PrincipalDirectory(data_paths().principals)
    issued = {"ops-1": directory.bootstrap("ops-1", now=NOW)[1]}
    issued["u-123"] = directory.add("u-123", role="write", now=NOW)[1]
    SEEN.clear()
    return issued


def _cli(*args: str, key: str) -> Any:
    return CliRunner().invoke(cli, list(args), env={"SAFE_AGENT_API_KEY": key})


def test_respond_answers_in_the_tools_place_and_runs_nothing(keys: dict[str, str]) -> None:
    paused = _cli("run", "Refund order 1001, it arrived damaged", "--json", key=keys["u-123"])
    thread = json.loads(paused.stdout)["thread_id"]
    done = _cli("resume", thread, "--respond", "--message", REPLY, "--json", key=keys["ops-1"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["status"] == "answered"
    assert SEEN == [REPLY]
    with closing(sqlite3.connect(data_paths().desk)) as db:
        assert db.execute("SELECT COUNT(*) FROM refunds").fetchone()[0] == 0


def test_respond_without_a_message_is_a_one_line_usage_error(keys: dict[str, str]) -> None:
    paused = _cli("run", "Refund order 1001, it arrived damaged", "--json", key=keys["u-123"])
    thread = json.loads(paused.stdout)["thread_id"]
    refused = _cli("resume", thread, "--respond", key=keys["ops-1"])
    assert refused.exit_code == 1
    assert refused.output.strip().splitlines() == [
        "Error: --respond needs --message TEXT: the reply the model reads"
    ]
    still = _cli("pending", "--json", key=keys["ops-1"])
    assert [p["thread_id"] for p in json.loads(still.stdout)] == [thread]
