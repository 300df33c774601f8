"""Cost-aware routing and the ladder's budget: the hold is priced for the model actually called."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import FAST_RETRY, answer

from safe_agent.chat_models import ScriptedChatModel
from safe_agent.graph.services import ModelSlot
from safe_agent.policies.config import SafetyConfig
from safe_agent.policies.model_config import RoutingConfig
from safe_agent.policies.routing import is_simple_request, route_turn


def _config(**sections: Any) -> SafetyConfig:
    base = SafetyConfig().model_dump()
    base["pricing"]["models"].update(
        {
            "big": {"input_per_mtok": 10.0, "output_per_mtok": 40.0},
            "small": {"input_per_mtok": 0.1, "output_per_mtok": 0.4},
        }
    )
    for key, value in {"retry": FAST_RETRY, **sections}.items():
        base[key] = {**base[key], **value}
    return SafetyConfig.model_validate(base)


def _agent(
    make_agent: Any,
    config: SafetyConfig,
    primary: ScriptedChatModel,
    cheap: ScriptedChatModel | None,
    fallback: ScriptedChatModel | None = None,
) -> Any:
    slot = ModelSlot("small", "test", cheap, "cheap") if cheap else None
    fallbacks = (ModelSlot("big-fallback", "test", fallback, "fallback"),) if fallback else ()
    return make_agent(
        config=config, model=primary, model_name="big", cheap=slot, fallbacks=fallbacks
    )


@pytest.mark.parametrize(
    "text, simple",
    [("hi, what are your hours?", True), ("please refund order 1001", False), ("x" * 300, False)],
)
def test_simple_requests_are_short_and_name_no_action(text: str, simple: bool) -> None:
    assert is_simple_request(text=text, config=RoutingConfig(simple_max_chars=200)) is simple


def test_route_is_primary_without_a_cheap_model_or_a_reason() -> None:
    cfg = RoutingConfig(simple_max_chars=200)
    assert (
        route_turn(config=cfg, has_cheap=False, soft_limit_passed=True, request_text="hi").data[
            "route"
        ]
        == "primary"
    )
    assert (
        route_turn(
            config=cfg,
            has_cheap=True,
            soft_limit_passed=False,
            request_text="refund order 1001 please",
        ).data["route"]
        == "primary"
    )
    assert (
        route_turn(
            config=cfg,
            has_cheap=True,
            soft_limit_passed=True,
            request_text="refund order 1001 please",
        ).data["route"]
        == "cheap"
    )


def test_simple_request_goes_to_the_cheap_model_and_the_hold_is_priced_for_it(
    make_agent: Any,
) -> None:
    primary, cheap = (
        ScriptedChatModel(replies=[answer("big")]),
        ScriptedChatModel(replies=[answer("small")]),
    )
    agent = _agent(make_agent, _config(routing={"simple_max_chars": 200}), primary, cheap)
    result = agent.run("what are your opening hours?", user_id="alice", role="read")
    assert (result.answer, result.service_level, len(primary.calls)) == ("small", "cheap", 0)
    [verdict] = [
        r for r in agent.audit(thread_id=result.thread_id) if r["kind"] == "budget_verdict"
    ]
    assert (
        verdict["input"]["model"] == "small"
        and verdict["input"]["route"] == "the request is simple"
    )
    [ledger] = agent.services.spend.rows()
    assert 0 < ledger["reserved_usd"] < 0.002, "held at the cheap model's rates, not the primary's"


def test_after_a_soft_limit_the_next_turn_goes_to_the_cheap_model(make_agent: Any) -> None:
    from helpers import tool_call

    primary = ScriptedChatModel(replies=[tool_call("search_kb", query="refunds"), answer("big")])
    cheap = ScriptedChatModel(replies=[answer("cheap finish")])
    config = _config(budget={"run_cost_limit_usd": 0.2, "soft_limit_ratio": 0.1})
    agent = _agent(make_agent, config, primary, cheap)
    result = agent.run("How do refunds work in detail for my order?", user_id="alice", role="read")
    assert (len(primary.calls), len(cheap.calls)) == (1, 1), "turn 1 primary (warned), turn 2 cheap"
    assert result.answer == "cheap finish" and result.service_level == "cheap"


def test_a_dearer_fallback_raises_the_hold_or_is_refused(make_agent: Any) -> None:
    failing = ScriptedChatModel(respond=lambda m: (_ for _ in ()).throw(ConnectionError("down")))
    fallback = ScriptedChatModel(replies=[answer("from the fallback")])
    config = _config(routing={"simple_max_chars": 200}, retry={"max_retries": 0})
    agent = _agent(
        make_agent, config, ScriptedChatModel(replies=[answer("big")]), failing, fallback
    )
    result = agent.run("what are your opening hours?", user_id="alice", role="read")
    # cheap failed → primary ("big") answers: the hold was raised from the cheap to the big worst
    # case
    assert (result.answer, result.service_level) == ("big", "primary")
    [ledger] = agent.services.spend.rows()
    assert ledger["reserved_usd"] > 0.01, "the hold covers the big model that answered"

    tight = _config(
        routing={"simple_max_chars": 200},
        retry={"max_retries": 0},
        budget={"run_cost_limit_usd": 0.005},
    )
    agent = _agent(make_agent, tight, ScriptedChatModel(replies=[answer("big")]), failing)
    result = agent.run("what are your opening hours?", user_id="carol", role="read")
    assert result.status == "halted" and "run_cost_limit" in result.reason_code
