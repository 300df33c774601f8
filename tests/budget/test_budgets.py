"""Spend control through the whole graph.

Retries charged, crashed holds expire, soft before hard, limits by role.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import HTTPStatusError, answer, fail_then, tool_call
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.runtime import Runtime
from pydantic import Field

from safe_agent.chat_models import ScriptedChatModel
from safe_agent.cli import cli
from safe_agent.graph.context import Context
from safe_agent.nodes._budget import (
    FINISH_NOTE,
    advance_clock,
    charge_tool_call,
    check_tool_call_budget,
)
from safe_agent.nodes.budget_check import budget_check
from safe_agent.policies.config import PricingConfig
from safe_agent.policies.pricing import cost_usd, price_for
from safe_agent.stores.principals import PrincipalDirectory
from tests.budget.workers import CALL_SETTLED_USD, open_agent, priced_config, tool_then_answer

T0 = 1_800_000_000.0  # 2027-01-15 08:00 UTC


class Crash(BaseException):
    """Stands in for the process dying in the middle of a model call."""


class RecordingModel(ScriptedChatModel):
    """A scripted model that remembers, for each call, whether it was made with tools bound."""

    tools_bound: bool = False
    with_tools: list[bool] = Field(default_factory=list)

    def bind_tools(self, tools, **kwargs):  # type: ignore[no-untyped-def,override]
        return self.model_copy(update={"tools_bound": bool(tools)})  # shares the recording lists

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[no-untyped-def]
        self.with_tools.append(self.tools_bound)
        return super()._generate(messages, stop, run_manager, **kwargs)


def _rows(agent, kind: str, thread_id: str | None = None) -> list[dict]:
    return [r for r in agent.audit(thread_id=thread_id) if r["kind"] == kind]


def test_budget_retry_storm_is_charged_per_attempt(tmp_path: Path) -> None:
    """A timed-out attempt may have been billed in full while we measured nothing.

    Worst case each.
    """
    model = ScriptedChatModel(
        respond=fail_then([TimeoutError("read timed out")] * 3, answer("fine"))
    )
    with open_agent(str(tmp_path), priced_config(input_per_mtok=10.0), model=model) as agent:
        result = agent.run("hello there", user_id="u-1", role="read")
        [row] = _rows(agent, "model_call", result.thread_id)
        [ledger] = agent.services.spend.rows()
    reply_usd = (row["tokens_in"] * 10.0 + row["tokens_out"] * 100.0) / 1e6
    per_attempt = ledger["reserved_usd"] / 4  # the first hold, then one more worst case per retry
    assert (result.status, row["retry_count"], len(model.calls)) == ("answered", 3, 4)
    assert per_attempt > 0.05, (
        "a timed-out attempt is charged its worst case (prompt and output allowance)"
    )
    assert row["cost_usd"] == pytest.approx(reply_usd + 3 * per_attempt, abs=1e-8)
    assert (
        ledger["settled_usd"]
        == pytest.approx(row["cost_usd"], abs=1e-9)
        == pytest.approx(result.cost_usd)
    )


def test_budget_error_responses_are_not_charged(tmp_path: Path) -> None:
    """A 503 is the provider answering without doing the work: it bills nothing, nor do we."""
    model = ScriptedChatModel(respond=fail_then([HTTPStatusError(503)] * 3, answer("fine")))
    with open_agent(str(tmp_path), priced_config(input_per_mtok=10.0), model=model) as agent:
        result = agent.run("hello there", user_id="u-1", role="read")
        [row] = _rows(agent, "model_call", result.thread_id)
    assert (result.status, row["retry_count"]) == ("answered", 3)
    assert row["cost_usd"] == pytest.approx(
        (row["tokens_in"] * 10.0 + row["tokens_out"] * 100.0) / 1e6, abs=1e-9
    )


def test_budget_connection_failures_are_not_charged(tmp_path: Path) -> None:
    model = ScriptedChatModel(respond=fail_then([ConnectionError("refused")] * 2, answer("fine")))
    with open_agent(str(tmp_path), priced_config(input_per_mtok=10.0), model=model) as agent:
        result = agent.run("hello there", user_id="u-1", role="read")
        [row] = _rows(agent, "model_call", result.thread_id)
    assert row["cost_usd"] == pytest.approx(
        (row["tokens_in"] * 10.0 + row["tokens_out"] * 100.0) / 1e6, abs=1e-9
    )


def test_budget_retry_refused_when_the_budget_cannot_hold_it(tmp_path: Path) -> None:
    model = ScriptedChatModel(
        respond=fail_then([TimeoutError("read timed out")] * 3, answer("fine"))
    )
    config = priced_config(input_per_mtok=100.0, user_daily_limit_usd=0.5)
    with open_agent(str(tmp_path), config, model=model) as agent:
        result = agent.run("hello there", user_id="u-1", role="read")
        [ledger] = agent.services.spend.rows()
    assert (result.status, result.reason_code, len(model.calls)) == (
        "halted",
        "user_daily_limit",
        1,
    )
    assert "a retry was refused" in result.answer and "daily budget" in result.answer
    assert 0 < ledger["settled_usd"] <= 0.5 and ledger["settled_usd"] == pytest.approx(
        result.cost_usd
    )


def test_budget_crashed_run_reservation_expires(tmp_path: Path) -> None:
    now = [T0]

    def crash_once(messages: list[BaseMessage]) -> AIMessage:
        if len(model.calls) == 1:
            raise Crash()
        return answer("back again")

    model = ScriptedChatModel(respond=crash_once)
    config = priced_config(user_daily_limit_usd=0.08, reservation_ttl_s=600)
    with open_agent(str(tmp_path), config, model=model, clock=lambda: now[0]) as agent:
        with pytest.raises(Crash):
            agent.run("hello", user_id="u-1", role="read")
        assert [r["status"] for r in agent.services.spend.rows()] == ["reserved"]
        assert agent.spend(user_id="u-1").lines[0].reserved_usd == 0.05
        blocked = agent.run("hello", user_id="u-1", role="read")
        assert (blocked.status, blocked.reason_code) == ("halted", "user_daily_limit")
        assert "$0.0300 left" in blocked.answer
        now[0] += 601
        assert agent.spend(user_id="u-1").lines[0].reserved_usd == 0
        assert agent.run("hello", user_id="u-1", role="read").status == "answered"


def test_budget_unknown_model_is_priced_conservatively_and_flagged(make_agent) -> None:
    agent = make_agent(
        model=ScriptedChatModel(replies=[answer("hello")]), model_name="mystery-model-9000"
    )
    result = agent.run("hi", user_id="u-1", role="read")
    [call] = _rows(agent, "model_call", result.thread_id)
    [check] = _rows(agent, "budget_verdict", result.thread_id)
    expected = cost_usd(
        quote=price_for(model="mystery-model-9000", pricing=PricingConfig()),
        input_tokens=call["tokens_in"],
        output_tokens=call["tokens_out"],
    )
    assert call["input"]["price_known"] is False and check["input"]["price_known"] is False
    assert "priced conservatively" in call["detail"]
    assert call["cost_usd"] == pytest.approx(expected) and result.cost_usd > 0


def test_budget_soft_warning_comes_before_the_hard_cap(tmp_path: Path) -> None:
    model = RecordingModel(respond=tool_then_answer)
    with open_agent(str(tmp_path), priced_config(user_daily_limit_usd=0.5), model=model) as agent:
        results = [
            agent.run("How long does shipping take?", user_id="u-1", role="read") for _ in range(7)
        ]
        soft_rows = _rows(agent, "soft_limit")
        spent = agent.spend(user_id="u-1").lines[0]
    first_warned = next(i for i, r in enumerate(results) if r.warnings)
    first_halted = next(i for i, r in enumerate(results) if r.status == "halted")
    assert first_warned < first_halted, [(r.status, r.warnings) for r in results]
    assert "u-1's daily budget reaches" in results[first_warned].warnings[0]
    assert results[first_halted].reason_code == "user_daily_limit"
    assert soft_rows and soft_rows[0]["reason_code"] == "soft_limit"
    steered = [
        c
        for c in model.calls
        if any(isinstance(m, SystemMessage) and m.content == FINISH_NOTE for m in c)
    ]
    assert steered and model.with_tools.count(False) == len(steered), "a steered call gets no tools"
    assert model.with_tools.count(True) == len(model.calls) - len(steered)
    assert spent.spent_usd <= 0.5 and spent.remaining_usd == pytest.approx(0.5 - spent.spent_usd)


def test_budget_role_override_applies_to_that_role_only(tmp_path: Path) -> None:
    config = priced_config(roles={"read": {"user_daily_limit_usd": 0.12}})
    with open_agent(str(tmp_path), config) as agent:
        reads = [
            agent.run("How long does shipping take?", user_id="reader", role="read")
            for _ in range(2)
        ]
        writes = [
            agent.run("How long does shipping take?", user_id="writer", role="write")
            for _ in range(2)
        ]
    assert [r.reason_code for r in reads] == ["ok", "user_daily_limit"]
    assert [r.status for r in writes] == ["answered", "answered"]


def test_budget_tool_call_limit_steers_then_stops(make_agent) -> None:
    queries = iter(["shipping", "refund", "warranty", "returns", "exchange"])
    model = ScriptedChatModel(
        respond=lambda messages: tool_call("search_kb", query=next(queries))
    )  # ignores steering
    agent = make_agent(model=model, config=priced_config(tool_calls_limit=2, iterations_limit=None))
    result = agent.run("tell me everything", user_id="u-1", role="read")
    assert (result.status, result.reason_code) == ("halted", "tool_call_limit")
    assert any(m.content == FINISH_NOTE for m in model.calls[2] if isinstance(m, SystemMessage))


def test_budget_per_tool_limit(make_agent) -> None:
    queries = iter(["shipping", "refund", "warranty"])
    model = ScriptedChatModel(respond=lambda messages: tool_call("search_kb", query=next(queries)))
    agent = make_agent(model=model, config=priced_config(per_tool_calls_limit={"search_kb": 1}))
    result = agent.run("tell me everything", user_id="u-1", role="read")
    assert (result.status, result.reason_code) == ("halted", "tool_call_limit")
    assert "search_kb" in result.answer


def test_budget_deadline_stops_a_slow_run(make_agent) -> None:
    now, queries = [T0], iter(["shipping", "refund", "warranty", "returns"])

    def slow(messages: list[BaseMessage]) -> AIMessage:
        now[0] += 50
        return tool_call("search_kb", query=next(queries))

    agent = make_agent(model=ScriptedChatModel(respond=slow), clock=lambda: now[0])
    result = agent.run("research this", user_id="u-1", role="read")
    assert (result.status, result.reason_code, result.iterations) == ("halted", "deadline", 3)
    assert "deadline of 120 s" in result.answer


def test_budget_deadline_counts_working_time_since_last_check() -> None:
    clock = {
        "run_id": "r",
        "started_at": 0.0,
        "active_s": 10.0,
        "last_at": 100.0,
        "soft_warned": [],
    }
    worked = {"run_id": "r", "run_clock": clock}
    assert advance_clock(worked, 5_000.0)[0]["active_s"] == 4_910.0  # type: ignore[arg-type]
    fresh, first = advance_clock({**worked, "run_id": "next"}, 7.0)  # type: ignore[arg-type]
    assert first and fresh["started_at"] == 7.0 and fresh["active_s"] == 0.0


def test_budget_deadline_excludes_waiting_for_an_approval(make_agent) -> None:
    now = [1_000.0]
    model = ScriptedChatModel(
        replies=[
            tool_call("issue_refund", order_id="1001", amount_usd=5.0, reason="r"),
            answer("done"),
        ]
    )
    agent = make_agent(model=model, clock=lambda: now[0])
    paused = agent.run("refund", user_id="u-1", role="write")
    now[0] += 3 * 3600  # three hours waiting for a person, far past the 120 s deadline
    done = agent.resume(
        paused.thread_id,
        {"decisions": [{"type": "approve"}]},
        approver_id="a",
        approver_role="admin",
    )
    assert done.status == "answered", done


def test_budget_rate_limit_by_role_and_window(tmp_path: Path) -> None:
    now = [T0]
    config = priced_config(
        rate_limit={"requests_limit": {"read": 2, "admin": None}, "window_s": 3600}
    )
    with open_agent(str(tmp_path), config, clock=lambda: now[0]) as agent:
        codes = [agent.run("How long?", user_id="u-1", role="read").reason_code for _ in range(3)]
        admin = [agent.run("How long?", user_id="boss", role="admin").reason_code for _ in range(3)]
        now[0] += 3601
        later = agent.run("How long?", user_id="u-1", role="read").reason_code
    assert (codes, admin, later) == (["ok", "ok", "rate_limited"], ["ok"] * 3, "ok")


def test_budget_replayed_check_does_not_reserve_twice(tmp_path: Path) -> None:
    with open_agent(str(tmp_path), priced_config()) as agent:
        services = agent.services
        state = {
            "messages": [HumanMessage("hi")],
            "run_id": "run-1",
            "iterations": 0,
            "principal": {"user_id": "u-1", "role": "read", "tenant": None, "session_id": None},
        }
        runtime = Runtime(context=Context(user_id="u-1", role="read"))
        first = budget_check(state, runtime, {}, services=services)  # type: ignore[arg-type]
        again = budget_check(state, runtime, {}, services=services)  # type: ignore[arg-type]
        rows = services.spend.rows()
    assert first["reservation"]["id"] == again["reservation"]["id"] == "run-1:0"
    assert [(r["key"], r["reserved_usd"]) for r in rows] == [("run-1:0", pytest.approx(0.05))]


def test_budget_tool_cost_is_charged_once_per_call_against_the_budgets(tmp_path: Path) -> None:
    config = priced_config(user_daily_limit_usd=0.01, tools={"cost_usd": {"send_email": 0.004}})
    with open_agent(str(tmp_path), config) as agent:
        state = {
            "run_id": "run-1",
            "principal": {"user_id": "u-1", "role": "write", "tenant": None},
        }
        email = {"id": "c1", "name": "send_email", "args": {}}
        charges = [
            charge_tool_call(state, agent.services, call)  # type: ignore[arg-type]
            for call in (
                email,
                email,
                {**email, "id": "c2"},
                {**email, "id": "c3"},
                {"id": "c4", "name": "search_kb", "args": {}},
            )
        ]
        rows = agent.services.spend.rows()
    assert [(v.allowed, usd) for v, usd in charges] == [(True, 0.004)] * 3 + [
        (False, 0.0),
        (True, 0.0),
    ]
    assert charges[3][0].reason_code.value == "user_daily_limit"
    assert [(r["key"], r["kind"], r["status"]) for r in rows] == [
        ("run-1:tool:c1", "tool", "settled"),
        ("run-1:tool:c2", "tool", "settled"),
    ]


def test_budget_tool_call_counts_for_authorize(tmp_path: Path) -> None:
    first, second = tool_call("search_kb", query="a"), tool_call("get_order", order_id="1001")
    messages = [
        HumanMessage("old"),
        tool_call("search_kb", query="old"),
        HumanMessage("new"),
        first,
        ToolMessage("{}", tool_call_id=first.tool_calls[0]["id"]),
        second,
        ToolMessage("{}", tool_call_id=second.tool_calls[0]["id"]),
    ]
    state = {"messages": messages, "principal": {"user_id": "u", "role": "read"}}
    with open_agent(
        str(tmp_path), priced_config(tool_calls_limit=3, per_tool_calls_limit={"get_order": 1})
    ) as agent:
        assert check_tool_call_budget(state, agent.services, "search_kb").allowed  # type: ignore[arg-type]
        refused = check_tool_call_budget(state, agent.services, "get_order")  # type: ignore[arg-type]
    assert refused.reason_code.value == "tool_call_limit" and refused.data["observed"] == 1


def test_spend_report_in_python_and_cli(tmp_path: Path) -> None:
    root = tmp_path / "var"
    with open_agent(str(root), priced_config(tenant_daily_limit_usd=1.0)) as agent:
        result = agent.run(
            "How long does shipping take?", user_id="u-1", role="read", tenant="acme"
        )
        report = agent.spend(user_id="u-1", tenant="acme")
    user, tenant, world = report.lines
    assert (user.scope, tenant.scope, world.scope) == ("user", "tenant", "global")
    assert (
        user.spent_usd == tenant.spent_usd == world.spent_usd == pytest.approx(2 * CALL_SETTLED_USD)
    )
    assert result.cost_usd == pytest.approx(user.spent_usd)
    assert tenant.remaining_usd == pytest.approx(1.0 - tenant.spent_usd) and user.limit_usd == 5.0
    _, key = PrincipalDirectory(root / "principals.sqlite").add("u-1", role="read", now=0.0)
    out = CliRunner().invoke(
        cli,
        ["spend", "--user", "u-1", "--home", str(root), "--json"],
        env={"SAFE_AGENT_API_KEY": key},
    )
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert [line["scope"] for line in data["lines"]] == ["user", "global"]
    assert data["lines"][0]["spent_usd"] == pytest.approx(user.spent_usd)
    human = CliRunner().invoke(
        cli, ["spend", "--user", "u-1", "--home", str(root)], env={"SAFE_AGENT_API_KEY": key}
    )
    assert human.exit_code == 0 and "u-1" in human.stdout and "left" in human.stdout


def test_budget_hold_is_released_when_the_breaker_stops_the_call(tmp_path: Path) -> None:
    model = ScriptedChatModel(respond=fail_then([ConnectionError("down")] * 10, answer("never")))
    config = priced_config()
    config = config.model_copy(
        update={
            "retry": config.retry.model_copy(update={"max_retries": 0}),
            "breaker": config.breaker.model_copy(update={"failure_threshold": 1}),
        }
    )
    with open_agent(str(tmp_path), config, model=model) as agent:
        assert agent.run("hi", user_id="u-1", role="read").reason_code == "model_unavailable"
        assert agent.run("hi", user_id="u-1", role="read").reason_code == "breaker_open"
        rows = agent.services.spend.rows()
        held = agent.spend(user_id="u-1").lines[0].reserved_usd
    assert [(r["status"], r["settled_usd"]) for r in rows] == [
        ("settled", 0.0),
        ("settled", 0.0),
    ] and held == 0
