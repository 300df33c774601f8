"""Tool-call limits are enforced at authorize, and a tool's own price is charged at execute_tool."""

from __future__ import annotations

from helpers import FAST_RETRY, answer, make_config, tool_call
from langchain_core.messages import AIMessage

from safe_agent.chat_models import ScriptedChatModel


def test_per_tool_call_limit_denies_the_extra_call_in_one_turn(make_agent) -> None:
    turn = AIMessage(
        content="",
        tool_calls=[
            {"id": f"c{i}", "name": "get_order", "args": {"order_id": str(1001 + i)}}
            for i in range(3)
        ],
    )
    model = ScriptedChatModel(replies=[turn, answer("done")])
    config = make_config(retry=FAST_RETRY, budget={"per_tool_calls_limit": {"get_order": 2}})
    agent = make_agent(model=model, config=config)
    result = agent.run("check three orders", user_id="u-1", role="read")
    rows = agent.audit(thread_id=result.thread_id)
    assert [r["reason_code"] for r in rows if r["kind"] == "authorization"] == [
        "ok",
        "ok",
        "tool_call_limit",
    ]
    assert len([r for r in rows if r["kind"] == "tool_execution"]) == 2
    assert (result.status, result.reason_code) == ("halted", "tool_call_limit")
    assert len(model.calls) == 1, "the run ends before the model is asked again"


def test_tool_price_is_charged_once_and_balances_with_audit(make_agent) -> None:
    model = ScriptedChatModel(replies=[tool_call("get_order", order_id="1001"), answer("done")])
    config = make_config(retry=FAST_RETRY, tools={"cost_usd": {"get_order": 0.01}})
    agent = make_agent(model=model, config=config)
    result = agent.run("status?", user_id="u-1", role="read")
    rows = agent.audit(thread_id=result.thread_id)
    tool_rows = [r for r in rows if r["kind"] == "tool_execution"]
    assert tool_rows[0]["cost_usd"] == 0.01
    model_cost = sum(r["cost_usd"] for r in rows if r["kind"] == "model_call")
    assert abs(result.cost_usd - (model_cost + 0.01)) < 1e-9
    assert abs(sum(r["cost_usd"] for r in rows) - result.cost_usd) < 1e-9
