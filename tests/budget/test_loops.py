"""Loops cannot hide: each pattern ends the run with its own reason code.

Varied work is left alone.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from helpers import FAST_RETRY, always_calls, answer, make_config, tool_call
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from safe_agent.chat_models import ScriptedChatModel


def _cycle(*replies: Callable[[], AIMessage]) -> Callable[[list[BaseMessage]], AIMessage]:
    turns = itertools.cycle(replies)
    return lambda messages: next(turns)()


def _varied_searches(messages: list[BaseMessage]) -> AIMessage:
    return tool_call(
        "search_kb", query=f"zzqx{len(messages)}"
    )  # different words, every one finds nothing


@pytest.mark.parametrize(
    "respond, reason, model_calls",
    [
        (always_calls("get_order", order_id="1001"), "repeated_tool_call", 3),
        (
            _cycle(
                lambda: tool_call("get_order", order_id="1001"),
                lambda: tool_call("search_kb", query="shipping"),
            ),
            "oscillation",
            4,
        ),
        (_varied_searches, "no_progress", 3),
    ],
    ids=["same-call-three-times", "a-b-a-b", "identical-results"],
)
def test_loops_each_pattern_ends_the_run(
    make_agent, respond, reason: str, model_calls: int
) -> None:
    model = ScriptedChatModel(respond=respond)
    agent = make_agent(model=model)
    result = agent.run("check my order 1001", user_id="u-1", role="read")
    assert (result.status, result.reason_code, result.iterations) == ("halted", reason, model_calls)
    assert len(model.calls) == model_calls
    assert result.answer.startswith("I stopped before finishing:")
    verdict = [r for r in agent.audit(thread_id=result.thread_id) if r["kind"] == "budget_verdict"][
        -1
    ]
    assert verdict["reason_code"] == reason and verdict["policy_id"].startswith("loops.")


def test_loops_varied_multi_step_task_is_not_a_loop(make_agent) -> None:
    plan = iter(
        [
            tool_call("get_order", order_id="1001"),
            tool_call("search_kb", query="refund policy"),
            tool_call("get_order", order_id="1002"),
            tool_call("search_kb", query="shipping times"),
            answer("Both orders are on their way; refunds take 5 days."),
        ]
    )
    model = ScriptedChatModel(respond=lambda messages: next(plan))
    config = make_config(retry=FAST_RETRY, budget={"iterations_limit": 6})
    result = make_agent(model=model, config=config).run(
        "compare orders 1001 and 1002", user_id="u-1", role="read"
    )
    assert (result.status, result.reason_code, result.iterations) == ("answered", "ok", 5)
    assert sum(isinstance(m, ToolMessage) for m in model.calls[-1]) == 4


def test_loops_checks_are_off_when_their_limits_are_none(make_agent) -> None:
    config = make_config(
        retry=FAST_RETRY, budget={"repeated_call_limit": None, "no_progress_limit": None}
    )
    model = ScriptedChatModel(respond=always_calls("get_order", order_id="1001"))
    result = make_agent(model=model, config=config).run(
        "check order 1001", user_id="u-1", role="read"
    )
    assert (result.status, result.reason_code) == ("halted", "max_iterations")
