"""The classic production-agent failure scenarios, driven through the whole graph offline."""

from __future__ import annotations

import time
from pathlib import Path

from helpers import (
    FAST_RETRY,
    HTTPStatusError,
    always_calls,
    answer,
    fail_then,
    make_config,
    tool_call,
)
from pydantic import BaseModel, ConfigDict

from safe_agent.chat_models import ScriptedChatModel
from safe_agent.policies.config import ToolPolicy
from safe_agent.policies.verdict import Role, Tier
from safe_agent.tools.spec import ToolSpec
from safe_agent.tools.support_desk import PACK

NO_LOOP_CHECKS = {"repeated_call_limit": None, "oscillation_limit": None, "no_progress_limit": None}
"""These tests drive a model that repeats one call on purpose.

Loop detection (tests/budget) would stop it first.
"""


def test_max_iterations_stops_an_endlessly_tool_calling_model(make_agent) -> None:
    model = ScriptedChatModel(respond=always_calls("search_kb", query="shipping"))
    agent = make_agent(model=model, config=make_config(retry=FAST_RETRY, budget=NO_LOOP_CHECKS))
    result = agent.run("loop forever", user_id="u-1", role="read")
    assert result.status == "halted"
    assert result.reason_code == "max_iterations"
    assert result.iterations == 5
    assert len(model.calls) == 5
    assert "5 model calls" in result.answer


def test_cost_limit_stops_the_run_before_the_call_that_would_cross_it(make_agent) -> None:
    config = make_config(
        retry=FAST_RETRY,
        budget={"iterations_limit": None, "run_cost_limit_usd": 0.002, **NO_LOOP_CHECKS},
    )
    model = ScriptedChatModel(respond=always_calls("search_kb", query="shipping"))
    agent = make_agent(model=model, config=config)
    result = agent.run("loop forever", user_id="u-1", role="read")
    assert result.status == "halted"
    assert result.reason_code == "run_cost_limit"
    assert 0 < result.cost_usd <= 0.002
    assert len(model.calls) == result.iterations >= 1


class _SleepArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: float


def _slow_tool(args: _SleepArgs, ctx: object) -> dict:
    time.sleep(args.seconds)
    return {"slept": args.seconds}


SLOW = ToolSpec(
    name="slow_lookup",
    description="sleeps",
    args_schema=_SleepArgs,
    run=_slow_tool,
    policy=ToolPolicy(tier=Tier.READ_ONLY, required_role=Role.READ, timeout_s=0.2, idempotent=True),
)


def test_slow_tool_times_out_with_structured_error(make_agent) -> None:
    model = ScriptedChatModel(replies=[tool_call("slow_lookup", seconds=3), answer("done")])
    agent = make_agent(model=model, tools=PACK.with_tools(SLOW))
    started = time.perf_counter()
    result = agent.run("look it up", user_id="u-1", role="read")
    assert time.perf_counter() - started < 2.5, "the tool's timeout must cut the call off"
    assert result.status == "answered"
    tool_msg = model.calls[1][-1]
    assert tool_msg.status == "error" and "tool_timeout" in tool_msg.content
    rows = [r for r in agent.audit(thread_id=result.thread_id) if r["kind"] == "tool_execution"]
    assert rows[0]["reason_code"] == "tool_timeout" and rows[0]["success"] is False


def test_transient_errors_are_retried_then_succeed(make_agent) -> None:
    model = ScriptedChatModel(
        respond=fail_then(
            [HTTPStatusError(503), TimeoutError("slow"), HTTPStatusError(429)], answer("fine")
        )
    )
    delays: list[float] = []
    agent = make_agent(model=model, sleep=delays.append)
    result = agent.run("hello there", user_id="u-1", role="read")
    assert result.status == "answered" and result.answer == "fine"
    assert len(delays) == 3
    row = next(r for r in agent.audit(thread_id=result.thread_id) if r["kind"] == "model_call")
    assert row["retry_count"] == 3


def test_backoff_is_exponential_with_bounded_jitter(make_agent) -> None:
    config = make_config(retry={"base_delay_s": 1.0, "max_jitter_s": 0.5, "max_retries": 3})
    model = ScriptedChatModel(respond=fail_then([HTTPStatusError(500)] * 3, answer("ok")))
    delays: list[float] = []
    make_agent(model=model, config=config, sleep=delays.append).run(
        "hi", user_id="u-1", role="read"
    )
    assert [1.0 <= delays[0] <= 1.5, 2.0 <= delays[1] <= 2.5, 4.0 <= delays[2] <= 4.5] == [True] * 3


def test_client_errors_are_not_retried(make_agent) -> None:
    for status in (400, 401, 404):
        model = ScriptedChatModel(respond=fail_then([HTTPStatusError(status)] * 5, answer("never")))
        delays: list[float] = []
        result = make_agent(model=model, sleep=delays.append).run("hi", user_id="u-1", role="read")
        assert (result.status, result.reason_code, delays, len(model.calls)) == (
            "halted",
            "model_rejected_request",
            [],
            1,
        ), status


def test_model_down_ends_in_graceful_structured_result(make_agent) -> None:
    model = ScriptedChatModel(respond=fail_then([ConnectionError("refused")] * 10, answer("never")))
    result = make_agent(model=model).run("hi", user_id="u-1", role="read")
    assert result.status == "halted"
    assert result.reason_code == "model_unavailable"
    assert (
        result.answer.startswith("I cannot do this right now")
        and "Nothing was done" in result.answer
    )
    assert len(model.calls) == 4  # first try + 3 retries


def test_breaker_opens_after_five_failures_and_half_opens_after_cooldown(
    make_agent, tmp_path: Path
) -> None:
    now = [1000.0]
    config = make_config(retry={"max_retries": 0})
    broken = ScriptedChatModel(respond=fail_then([ConnectionError("down")] * 100, answer("never")))
    agent = make_agent(model=broken, config=config, clock=lambda: now[0])
    for _ in range(5):
        assert agent.run("hi", user_id="u-1", role="read").reason_code == "model_unavailable"
    calls_before = len(broken.calls)
    blocked = agent.run("hi", user_id="u-1", role="read")
    assert blocked.reason_code == "breaker_open"
    assert len(broken.calls) == calls_before, "an open breaker must not call the model"
    now[0] += 61
    healthy = ScriptedChatModel(replies=[answer("back")])
    probe_agent = make_agent(model=healthy, config=config, clock=lambda: now[0])
    assert probe_agent.run("hi", user_id="u-1", role="read").answer == "back"
    assert probe_agent.services.breakers.get("model:injected").phase.value == "closed"


def test_input_with_internal_keys_changes_nothing(make_agent) -> None:
    model = ScriptedChatModel(respond=always_calls("search_kb", query="x"))
    agent = make_agent(model=model, config=make_config(retry=FAST_RETRY, budget=NO_LOOP_CHECKS))
    from langchain_core.messages import HumanMessage

    config = {"configurable": {"thread_id": "t-internal"}, "recursion_limit": 100}
    from safe_agent.graph.context import Context

    agent.graph.invoke(
        {
            "messages": [HumanMessage("go")],
            "iterations": -100,
            "cost_usd": -5.0,
            "principal": {"user_id": "root", "role": "admin"},
        },
        config,
        context=Context(user_id="u-1", role="read"),
    )
    values = agent.graph.get_state(config).values
    assert values["principal"]["user_id"] == "u-1" and values["principal"]["role"] == "read"
    assert values["iterations"] == 5 and values["cost_usd"] > 0
