"""Kill switches: the operator stops a tool, a tenant, a user or everything, across processes.

Every switch is audited.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import answer, tool_call

from safe_agent.chat_models import ScriptedChatModel
from safe_agent.cli import cli
from safe_agent.errors import Forbidden, InvalidInput
from safe_agent.stores.principals import PrincipalDirectory


def test_switched_off_tool_is_refused_and_model_told(make_agent) -> None:
    model = ScriptedChatModel(replies=[tool_call("get_order", order_id="1001"), answer("ok")])
    agent = make_agent(model=model)
    agent.switch_off(
        "tool:get_order", reason="database maintenance", operator_id="ops-1", operator_role="admin"
    )
    result = agent.run("status?", user_id="u-1", role="read")
    assert (
        "kill_switch" in model.calls[1][-1].content
        and "database maintenance" in model.calls[1][-1].content
    )
    assert "tool_execution" not in [r["kind"] for r in agent.audit(thread_id=result.thread_id)]


def test_switched_off_tenant_halts_only_that_tenant(make_agent) -> None:
    agent = make_agent(model=ScriptedChatModel(respond=lambda m: answer("hello")))
    agent.switch_off("tenant:acme", reason="suspended", operator_id="ops-1", operator_role="admin")
    stopped = agent.run("hi", user_id="u-1", role="read", tenant="acme")
    assert (stopped.status, stopped.reason_code) == (
        "halted",
        "kill_switch",
    ) and "suspended" in stopped.answer
    assert agent.run("hi", user_id="u-2", role="read", tenant="other").status == "answered"
    assert agent.switch_on("tenant:acme", operator_id="ops-1", operator_role="admin") is True
    assert agent.run("hi", user_id="u-1", role="read", tenant="acme").status == "answered"


def test_switch_all_stops_every_run_and_is_audited(make_agent) -> None:
    model = ScriptedChatModel(respond=lambda m: answer("hello"))
    agent = make_agent(model=model)
    agent.switch_off("all", reason="incident", operator_id="ops-1", operator_role="admin")
    assert agent.run("hi", user_id="u-1", role="admin").reason_code == "kill_switch"
    assert model.calls == []
    rows = [r for r in agent.audit() if r["node"] == "operator"]
    assert [(r["kind"], r["input"]["target"], r["user_id"]) for r in rows] == [
        ("switch_off", "all", "ops-1")
    ]


@pytest.mark.parametrize(
    "target, role, error",
    [
        ("tool:x", "write", Forbidden),
        ("everything", "admin", InvalidInput),
        ("tool:", "admin", InvalidInput),
    ],
    ids=["not-admin", "unknown-target", "empty-name"],
)
def test_switch_refuses_bad_requests(make_agent, target: str, role: str, error: type) -> None:
    with pytest.raises(error):
        make_agent().switch_off(target, reason="r", operator_id="ops-1", operator_role=role)


def test_switch_holds_across_processes(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    directory = PrincipalDirectory(Path(home) / "principals.sqlite")
    _, ops_key = directory.bootstrap("ops-1", now=0.0)
    _, user_key = directory.add("u", role="read", now=0.0)
    out = CliRunner().invoke(
        cli,
        ["switch-off", "model", "--reason", "provider outage", "--home", home, "--json"],
        env={"SAFE_AGENT_API_KEY": ops_key},
    )
    assert out.exit_code == 0, out.stderr
    done = subprocess.run(
        [sys.executable, "-m", "safe_agent", "run", "hello", "--home", home, "--json"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "SAFE_AGENT_API_KEY": user_key},
    )
    assert json.loads(done.stdout)["reason_code"] == "kill_switch"
    listed = CliRunner().invoke(cli, ["switches", "--home", home, "--json"])
    assert [s["target"] for s in json.loads(listed.stdout)] == ["model"]
