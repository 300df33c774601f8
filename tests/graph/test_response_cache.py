"""The read-only response cache: off by default, never across principals, policies or writes."""

from __future__ import annotations

from typing import Any

from helpers import FAST_RETRY, answer, make_config, tool_call

from safe_agent.chat_models import ScriptedChatModel


def _cached_agent(make_agent: Any, model: ScriptedChatModel, **routing: Any) -> Any:
    config = make_config(retry=FAST_RETRY, routing={"cache_ttl_s": 600, **routing})
    return make_agent(config=config, model=model)


def _kb_model() -> ScriptedChatModel:
    def respond(messages: list[Any]) -> Any:
        if messages[-1].type == "tool":
            return answer("Refunds take 5 business days.")
        return tool_call("search_kb", query="refunds")

    return ScriptedChatModel(respond=respond)


def test_identical_read_only_request_is_served_from_the_cache(make_agent: Any) -> None:
    model = _kb_model()
    agent = _cached_agent(make_agent, model)
    first = agent.run("How do refunds work?", user_id="alice", role="read")
    calls = len(model.calls)
    second = agent.run("How do refunds work?", user_id="alice", role="read")
    assert first.answer == second.answer == "Refunds take 5 business days."
    assert len(model.calls) == calls, "both turns of the identical request came from the cache"
    assert second.service_level == "cache" and second.cost_usd == 0.0
    rows = [r for r in agent.audit(thread_id=second.thread_id) if r["kind"] == "model_call"]
    assert {r["input"]["service_level"] for r in rows} == {"cache"}
    assert [r["kind"] for r in agent.audit(thread_id=second.thread_id)].count(
        "tool_execution"
    ) == 1, "the cached reply's tool call still runs through authorize and execute_tool"


def test_cache_is_off_by_default(make_agent: Any) -> None:
    model = _kb_model()
    agent = make_agent(model=model)
    agent.run("How do refunds work?", user_id="alice", role="read")
    calls = len(model.calls)
    agent.run("How do refunds work?", user_id="alice", role="read")
    assert len(model.calls) == 2 * calls


def test_cache_never_crosses_principals_or_policy_versions(make_agent: Any) -> None:
    model = _kb_model()
    agent = _cached_agent(make_agent, model)
    agent.run("How do refunds work?", user_id="alice", role="read")
    calls = len(model.calls)
    agent.run("How do refunds work?", user_id="bob", role="read")
    assert len(model.calls) == 2 * calls, "another principal never gets alice's answer"
    changed = _cached_agent(make_agent, model, simple_max_chars=50)  # same data folder, new policy
    changed.run("How do refunds work?", user_id="alice", role="read")
    assert len(model.calls) == 3 * calls, "a changed config is a new policy version: no old answer"


def test_a_turn_that_proposes_a_write_is_never_cached(make_agent: Any) -> None:
    model = ScriptedChatModel(
        respond=lambda m: tool_call("issue_refund", order_id="1001", amount_usd=5.0, reason="r")
    )
    agent = _cached_agent(make_agent, model)
    agent.run("Refund $5 on order 1001", user_id="alice", role="write")
    calls = len(model.calls)
    agent.run("Refund $5 on order 1001", user_id="alice", role="write")
    assert len(model.calls) == 2 * calls
