"""The degradation ladder over real HTTP: primary → fallback → read-only → an honest failure.

Two local OpenAI-compatible stubs play the primary and the fallback provider; the real
`ChatOpenAI` (built by `init_chat_model`) talks to both. Nothing of the SDK is mocked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from helpers import FAST_RETRY, make_config

from safe_agent import SafeAgent
from safe_agent.tools.support_desk import ALL_TOOL_NAMES
from tests.integration.openai_stub import OpenAIStub, http_error, running_stub, text, tool_call

pytestmark = pytest.mark.timeout(60)

READ_TOOLS = {"search_kb", "get_order"}


@pytest.fixture
def stubs(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[OpenAIStub, OpenAIStub]]:
    """The primary provider (via OPENAI_BASE_URL) and a fallback provider with its own key."""
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    with running_stub() as primary, running_stub() as fallback:
        monkeypatch.setenv("OPENAI_API_KEY", "primary-key")
        monkeypatch.setenv("OPENAI_BASE_URL", primary.base_url)
        monkeypatch.setenv("FALLBACK_KEY", "fallback-key")
        yield primary, fallback


def _agent(
    make_agent: Any, fallback: OpenAIStub, *, read_only: bool = False, **sections: Any
) -> SafeAgent:
    route = {
        "provider": "openai",
        "name": "gpt-4.1-mini",
        "base_url": fallback.base_url,
        "api_key_env": "FALLBACK_KEY",
        "read_only": read_only,
    }
    model = {
        "name": "gpt-4o-mini",
        "timeout_s": 5.0,
        "fallbacks": [route],
        **sections.pop("model", {}),
    }
    config = make_config(retry={**FAST_RETRY, "max_retries": 1}, model=model, **sections)
    return make_agent(config=config)


def _model_call(agent: SafeAgent, thread_id: str) -> dict[str, Any]:
    [row] = [r for r in agent.audit(thread_id=thread_id) if r["kind"] == "model_call"][:1]
    return row


def _tools_sent(request: Any) -> set[str]:
    return {t["function"]["name"] for t in request.body.get("tools") or []}


def test_fallback_model_answers_when_the_primary_is_down(make_agent: Any, stubs: Any) -> None:
    primary, fallback = stubs
    primary.script(http_error(500))
    fallback.script(text("Refunds take 5 business days."))
    agent = _agent(make_agent, fallback)

    result = agent.run("How do refunds work?", user_id="alice", role="read")

    assert (result.status, result.answer) == ("answered", "Refunds take 5 business days.")
    assert result.service_level == "fallback"
    assert len(primary.completion_requests) == 2, "the primary was tried, with its one retry"
    [sent] = fallback.completion_requests
    assert (
        sent.headers["authorization"] == "Bearer fallback-key"
        and sent.body["model"] == "gpt-4.1-mini"
    )
    assert _tools_sent(sent) == set(ALL_TOOL_NAMES), "a full fallback keeps every tool"
    row = _model_call(agent, result.thread_id)
    assert row["input"]["service_level"] == "fallback" and row["input"]["model"] == "gpt-4.1-mini"
    outcomes = [(a["model"], a["outcome"], a["status"]) for a in row["input"]["attempts"]]
    assert outcomes == [("gpt-4o-mini", "failed", 500)] * 2 + [("gpt-4.1-mini", "ok", None)]


def test_read_only_level_withdraws_write_tools_and_tells_the_model(
    make_agent: Any, stubs: Any
) -> None:
    primary, fallback = stubs
    primary.script(http_error(503))
    # A read-only fallback that proposes a refund anyway: the write is refused before it reaches
    # state.
    fallback.script(
        tool_call("issue_refund", {"order_id": "1001", "amount_usd": 25, "reason": "r"}),
        text("I cannot issue refunds right now; please ask again later."),
    )
    agent = _agent(make_agent, fallback, read_only=True)

    result = agent.run("Please refund $25 on order 1001", user_id="alice", role="write")

    assert result.status == "answered" and result.service_level == "read_only"
    first = fallback.completion_requests[0]
    assert _tools_sent(first) == READ_TOOLS, "write tools are withdrawn at the read-only level"
    notes = [m["content"] for m in first.body["messages"] if m["role"] == "system"]
    assert any("unavailable right now" in n for n in notes), "the model is told, not left guessing"
    kinds = [r["kind"] for r in agent.audit(thread_id=result.thread_id)]
    assert "tool_execution" not in kinds and "approval_request" not in kinds


def test_writes_switch_serves_read_only_from_the_primary(make_agent: Any, stubs: Any) -> None:
    primary, fallback = stubs
    primary.script(text("Here is what I can tell you."))
    agent = _agent(make_agent, fallback)
    agent.switch_off(
        "writes", reason="payment incident", operator_id="ops-1", operator_role="admin"
    )

    result = agent.run("How do refunds work?", user_id="alice", role="read")

    assert (result.status, result.service_level) == ("answered", "read_only")
    [sent] = primary.completion_requests
    assert _tools_sent(sent) == READ_TOOLS
    assert fallback.completion_requests == []


def test_every_level_down_ends_in_an_honest_failure_with_what_was_done(
    make_agent: Any, stubs: Any
) -> None:
    primary, fallback = stubs
    primary.script(tool_call("get_order", {"order_id": "1001"}), http_error(500))
    fallback.script(http_error(502))
    agent = _agent(make_agent, fallback)

    result = agent.run("What is the status of order 1001?", user_id="alice", role="read")

    assert (result.status, result.reason_code, result.service_level) == (
        "halted",
        "model_unavailable",
        "unavailable",
    )
    assert result.answer.startswith("I cannot do this right now")
    assert "get_order ran" in result.answer, "the failure says what was done so far"
    assert "Traceback" not in result.answer


def test_open_primary_breaker_skips_straight_to_the_fallback(make_agent: Any, stubs: Any) -> None:
    primary, fallback = stubs
    primary.script(http_error(500))
    fallback.script(text("fallback answer"))
    agent = _agent(make_agent, fallback, breaker={"failure_threshold": 2, "cooldown_s": 600})

    agent.run(
        "first", user_id="alice", role="read"
    )  # two failed attempts open the primary's breaker
    assert agent.services.breakers.get("model:openai:gpt-4o-mini").phase.value == "open"
    before = len(primary.completion_requests)
    result = agent.run("second", user_id="alice", role="read")

    assert (result.status, result.service_level) == ("answered", "fallback")
    assert len(primary.completion_requests) == before, (
        "an open breaker sends nothing to the primary"
    )
    rows = [r for r in agent.audit() if r["kind"] == "breaker_transition"]
    assert [(r["input"]["name"], r["input"]["after"]) for r in rows] == [
        ("model:openai:gpt-4o-mini", "open")
    ]


def test_model_switch_skips_one_model(make_agent: Any, stubs: Any) -> None:
    primary, fallback = stubs
    fallback.script(text("served by the fallback"))
    agent = _agent(make_agent, fallback)
    agent.switch_off(
        "model:gpt-4o-mini", reason="misbehaving", operator_id="ops-1", operator_role="admin"
    )

    result = agent.run("hello", user_id="alice", role="read")

    assert (result.status, result.service_level) == ("answered", "fallback")
    assert primary.completion_requests == []


def test_retry_after_is_honoured_up_to_the_cap(make_agent: Any, stubs: Any) -> None:
    primary, fallback = stubs
    primary.script(http_error(429, retry_after="2"), text("ok after waiting"))
    slept: list[float] = []
    config = make_config(
        retry={**FAST_RETRY, "max_retries": 2, "max_retry_after_s": 5},
        model={"name": "gpt-4o-mini", "timeout_s": 5.0},
    )
    agent = make_agent(config=config, sleep=slept.append)
    assert agent.run("hi", user_id="alice", role="read").answer == "ok after waiting"
    assert slept == [2.0], "the provider's Retry-After wins over a shorter backoff"

    primary.reset()
    primary.script(http_error(429, retry_after="60"), text("never asked"))
    slept.clear()
    result = agent.run("hi", user_id="alice", role="read")
    assert (result.status, slept, len(primary.completion_requests)) == ("halted", [], 1), (
        "a Retry-After beyond the cap is not waited for"
    )


def test_connect_and_read_timeouts_reach_the_sdk_separately(make_agent: Any, stubs: Any) -> None:
    primary, fallback = stubs
    agent = _agent(make_agent, fallback, model={"timeout_s": 7.0, "connect_timeout_s": 1.5})
    for slot in (agent.services.primary, *agent.services.fallbacks):
        timeout = slot.model.request_timeout
        assert (timeout.connect, timeout.read) == (1.5, 7.0), slot.name
        assert slot.model.max_retries == 0 and slot.model.stream_usage is True
