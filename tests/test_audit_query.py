"""`safe-agent audit query` / `SafeAgent.audit_query` on a real home (issue 15, item 2).

The home holds what an operator would ask about: an approved refund whose approval waited (a
real pause, so the wait is in the audit timestamps), a refund a read-only user was denied, two
users. Every expectation is computed from the rows `SafeAgent.audit` returns, not typed in.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections import defaultdict
from datetime import datetime
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import FAST_RETRY, answer, make_config, tool_call

from safe_agent.chat_models import ScriptedChatModel
from safe_agent.cli import cli
from safe_agent.errors import InvalidInput
from safe_agent.settings import data_paths
from safe_agent.stores._sqlite import close_all
from safe_agent.stores.principals import PrincipalDirectory

APPROVE = {"decisions": [{"type": "approve"}]}
PAUSE_S = 0.3
NOW = 1_800_000_000.0


def _refund_model(text: str) -> ScriptedChatModel:
    return ScriptedChatModel(
        replies=[
            tool_call("issue_refund", order_id="1001", amount_usd=20.0, reason="r"),
            answer(text),
        ]
    )


@pytest.fixture
def home(make_agent, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """An admin key, then u-1's approved refund (approved PAUSE_S later) and u-2's denied one."""
    directory = PrincipalDirectory(data_paths().principals)
    admin_key = directory.bootstrap("ops-1", now=NOW)[1]
    reader_key = directory.add("u-9", role="read", now=NOW)[1]
    clock = [NOW]
    config = make_config(retry=FAST_RETRY)
    agent = make_agent(model=_refund_model("done"), clock=lambda: clock[0], config=config)
    paused = agent.run("refund please", user_id="u-1", role="write")
    assert paused.status == "paused"
    time.sleep(PAUSE_S)
    clock[0] += PAUSE_S
    done = agent.resume(paused.thread_id, APPROVE, approver_id="a-1", approver_role="admin")
    assert done.status == "answered"
    other = make_agent(model=_refund_model("cannot"), clock=lambda: clock[0], config=config)
    denied = other.run("refund please", user_id="u-2", role="read")
    close_all()
    return {
        "agent": other,
        "approved": paused.thread_id,
        "denied": denied.thread_id,
        "admin": admin_key,
        "reader": reader_key,
    }


def _cli(*args: str, key: str) -> tuple[int, str, str]:
    close_all()
    result = CliRunner().invoke(cli, ["audit", "query", *args], env={"SAFE_AGENT_API_KEY": key})
    return result.exit_code, result.stdout, result.stderr


def _expected_costs(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in rows:
        if row["cost_usd"] > 0:
            sums["user"][row["user_id"] or ""] += row["cost_usd"]
            sums["tool"][row["tool_name"] or ""] += row["cost_usd"]
            sums["day"][row["timestamp"][:10]] += row["cost_usd"]
    return {g: {k: round(v, 8) for k, v in d.items()} for g, d in sums.items()}


def test_rows_filter_by_user_tool_node_and_decision(home) -> None:
    agent, everything = home["agent"], home["agent"].audit()
    got = agent.audit_query({"user_id": "u-2", "tool": "issue_refund", "node": "authorize"})
    want = [
        r["event_id"]
        for r in everything
        if (r["user_id"], r["tool_name"], r["node"]) == ("u-2", "issue_refund", "authorize")
    ]
    assert [r["event_id"] for r in got] == want and len(want) == 1
    assert got[0]["decision"] == "deny" and got[0]["reason_code"] == "insufficient_role"
    thread = agent.audit_query({"thread_id": home["approved"], "success": False})
    assert thread == [] and all(r["success"] for r in agent.audit(thread_id=home["approved"]))
    window = agent.audit_query(
        {"since": everything[3]["timestamp"], "until": everything[6]["timestamp"]}
    )
    assert [r["seq"] for r in window] == [r["seq"] for r in everything[3:6]]


def test_costs_by_user_tool_and_day(home) -> None:
    got = home["agent"].audit_query({"report": "costs"})
    want = _expected_costs(home["agent"].audit())
    assert set(want["user"]) == {"u-1", "u-2"} and all(v > 0 for v in want["user"].values())
    for group in ("user", "tool", "day"):
        assert {r["key"]: r["cost_usd"] for r in got[f"by_{group}"]} == want[group]
    only_u1 = home["agent"].audit_query({"report": "costs", "user_id": "u-1"})
    assert [r["key"] for r in only_u1["by_user"]] == ["u-1"]


def test_denied_names_who_what_when_and_why(home) -> None:
    got = home["agent"].audit_query({"report": "denied"})
    want = [r for r in home["agent"].audit() if r["decision"] in ("deny", "halted")]
    assert [(r["seq"], r["user_id"], r["tool_name"], r["reason_code"]) for r in got] == [
        (r["seq"], r["user_id"], r["tool_name"], r["reason_code"]) for r in want
    ]
    assert [(r["user_id"], r["thread_id"]) for r in got] == [("u-2", home["denied"])]


def test_approvals_give_approver_outcome_and_wait(home) -> None:
    got = home["agent"].audit_query({"report": "approvals"})
    rows = home["agent"].audit(thread_id=home["approved"])
    asked = next(r for r in rows if r["decision"] == "ask_approval")
    decided = next(r for r in rows if r["kind"] == "approval_decision")
    wait = (
        datetime.fromisoformat(decided["timestamp"]) - datetime.fromisoformat(asked["timestamp"])
    ).total_seconds()
    assert len(got) == 1
    row = got[0]
    assert (row["thread_id"], row["requester_id"], row["approver_id"], row["outcome"]) == (
        home["approved"],
        "u-1",
        "a-1",
        "approved",
    )
    assert row["wait_s"] == round(wait, 6) and row["wait_s"] >= PAUSE_S


def test_cli_json_and_csv_match_the_facade(home) -> None:
    facade = home["agent"].audit_query({"report": "approvals"})
    code, out, err = _cli("--report", "approvals", "--json", key=home["admin"])
    assert code == 0, err
    assert json.loads(out) == facade
    code, out, err = _cli("--report", "costs", "--csv", key=home["admin"])
    assert code == 0, err
    table = list(csv.DictReader(io.StringIO(out)))
    want = _expected_costs(home["agent"].audit())
    assert {(r["group"], r["key"]): float(r["cost_usd"]) for r in table} == {
        (g, k): v for g, d in want.items() for k, v in d.items()
    }
    code, out, err = _cli("--report", "denied", "--csv", key=home["admin"])
    assert code == 0 and [r["user_id"] for r in csv.DictReader(io.StringIO(out))] == ["u-2"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--since", "yesterday"], "since: Value error, not an epoch or ISO-8601 time"),
        (["--since", "2026-02-01", "--until", "2026-01-01"], "is not before until"),
        (["--limit", "0"], "limit"),
        (["--json", "--csv"], "not both"),
    ],
)
def test_bad_filters_are_one_line_exit_1(home, args: list[str], needle: str) -> None:
    code, out, err = _cli(*args, key=home["admin"])
    assert code == 1 and out == "", (code, out, err)
    assert needle in err and len(err.strip().splitlines()) == 1, err


def test_reader_is_refused_and_facade_rejects_bad_input(home) -> None:
    code, _, err = _cli("--report", "costs", key=home["reader"])
    assert code == 1 and "admin" in err and len(err.strip().splitlines()) == 1, err
    with pytest.raises(InvalidInput, match="report"):
        home["agent"].audit_query({"report": "everything"})
