"""The real provider path: ChatOpenAI → openai SDK → HTTP → a scripted local server.

Nothing of the SDK is mocked. `OPENAI_API_KEY` and `OPENAI_BASE_URL` are set before the agent is
built, so `safe_agent.settings.default_model` picks ChatOpenAI exactly as in production, and each
test drives the whole graph (budget, breaker, reason, authorize, tools, audit) through `agent.run`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from helpers import FAST_RETRY, make_config

from safe_agent import SafeAgent
from safe_agent.policies.config import SafetyConfig
from safe_agent.tools.support_desk import ALL_TOOL_NAMES
from tests.integration.openai_stub import (
    OpenAIStub,
    delay,
    http_error,
    invalid_json,
    missing_choices,
    openai_stub,  # noqa: F401 - the fixture
    text,
    tool_call,
)

pytestmark = pytest.mark.timeout(30)

MODEL = "gpt-4o-mini"
PRICE_IN_PER_MTOK, PRICE_OUT_PER_MTOK = (
    0.15,
    0.60,
)  # the published gpt-4o-mini price, an independent oracle
ANSWER = "Refunds are issued to the original payment method within 5 business days."
AgentFactory = Callable[..., SafeAgent]


def _price(tokens_in: int, tokens_out: int) -> float:
    return (tokens_in * PRICE_IN_PER_MTOK + tokens_out * PRICE_OUT_PER_MTOK) / 1_000_000


@pytest.fixture
def provider(
    openai_stub: OpenAIStub,
    monkeypatch: pytest.MonkeyPatch,  # noqa: F811 - fixture injection
    make_agent: AgentFactory,
) -> Callable[..., SafeAgent]:
    """Point the process at the stub, then return a factory of agents on the real ChatOpenAI."""
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_BASE_URL", openai_stub.base_url)
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)  # never route 127.0.0.1 through a proxy

    def build(
        *,
        timeout_s: float = 5.0,
        retry: dict[str, Any] | None = None,
        config: SafetyConfig | None = None,
        **kwargs: Any,
    ) -> SafeAgent:
        config = config or make_config(
            retry={**FAST_RETRY, **(retry or {})}, model={"name": MODEL, "timeout_s": timeout_s}
        )
        agent = make_agent(config=config, **kwargs)
        assert agent.services.provider == "openai", (
            "the agent must use the real ChatOpenAI, not the offline planner"
        )
        return agent

    return build


def _run(agent: SafeAgent, message: str = "How do refunds work?") -> Any:
    return agent.run(message, user_id="alice", role="read")


def _model_calls(agent: SafeAgent, thread_id: str) -> list[dict[str, Any]]:
    return [row for row in agent.audit(thread_id=thread_id) if row["kind"] == "model_call"]


# --------------------------------------------------------------------------- happy path


def test_tool_call_turn_then_answer(
    provider: Callable[..., SafeAgent], openai_stub: OpenAIStub
) -> None:  # noqa: F811
    openai_stub.script(
        tool_call("search_kb", {"query": "refund policy"}, call_id="call_kb_1"), text(ANSWER)
    )
    agent = provider()

    result = _run(agent)

    assert (result.status, result.reason_code, result.answer) == ("answered", "ok", ANSWER)
    assert result.iterations == 2
    requests = openai_stub.requests
    assert [r.path for r in requests] == ["/v1/chat/completions"] * 2
    first, second = requests
    assert first.headers["authorization"] == "Bearer test-key"
    assert first.body["model"] == MODEL
    assert sorted(first.tool_names) == sorted(ALL_TOOL_NAMES) and len(first.tool_names) == 6
    assert first.body["messages"][0]["role"] == "system"
    assert first.body["messages"][-1] == {"role": "user", "content": "How do refunds work?"}
    # The second request carries the assistant's tool call and the tool's result for it.
    roles = [m["role"] for m in second.body["messages"]]
    assert roles == ["system", "user", "assistant", "tool"]
    assert second.body["messages"][2]["tool_calls"][0]["function"]["name"] == "search_kb"
    assert second.body["messages"][3]["tool_call_id"] == "call_kb_1"
    executed = [r for r in agent.audit(thread_id=result.thread_id) if r["tool_name"] == "search_kb"]
    assert executed, "search_kb was never authorized or executed"


def test_usage_lands_in_budget_and_audit(
    provider: Callable[..., SafeAgent], openai_stub: OpenAIStub
) -> None:  # noqa: F811
    usages = [(1200, 40), (2000, 100)]
    openai_stub.script(
        tool_call("search_kb", {"query": "refund"}, usage=usages[0]), text(ANSWER, usage=usages[1])
    )
    agent = provider()
    table = agent.services.config.pricing.models[MODEL]
    assert (table.input_per_mtok, table.output_per_mtok) == (PRICE_IN_PER_MTOK, PRICE_OUT_PER_MTOK)

    result = _run(agent)

    assert result.status == "answered"
    expected = [_price(i, o) for i, o in usages]  # 0.000204 + 0.00036
    assert result.cost_usd == pytest.approx(0.000564, abs=1e-12)
    assert result.cost_usd == pytest.approx(sum(expected), abs=1e-12)
    calls = _model_calls(agent, result.thread_id)
    assert [(c["tokens_in"], c["tokens_out"]) for c in calls] == usages
    assert [c["cost_usd"] for c in calls] == pytest.approx(expected, abs=1e-12)
    assert all(c["success"] and c["reason_code"] == "ok" and c["retry_count"] == 0 for c in calls)
    outcome = [r for r in agent.audit(thread_id=result.thread_id) if r["kind"] == "run_outcome"][-1]
    assert outcome["input"]["run_tokens_in"] == 3200 and outcome["input"]["run_tokens_out"] == 140
    assert outcome["input"]["run_cost_usd"] == pytest.approx(0.000564, abs=1e-12)


def test_base_url_without_v1(
    provider: Callable[..., SafeAgent],
    openai_stub: OpenAIStub,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "OPENAI_BASE_URL", f"http://127.0.0.1:{openai_stub.port}"
    )  # a gateway at the root
    openai_stub.script(text(ANSWER))

    result = _run(provider())

    assert (result.status, result.answer) == ("answered", ANSWER)
    assert [r.path for r in openai_stub.requests] == ["/chat/completions"]


# --------------------------------------------------------------------------- timeouts


def test_slow_response_is_cut_off(
    provider: Callable[..., SafeAgent], openai_stub: OpenAIStub
) -> None:  # noqa: F811
    openai_stub.script(delay(3.0, then=text(ANSWER)))
    agent = provider(timeout_s=0.5, retry={"max_retries": 0})

    started = time.monotonic()
    result = _run(agent)
    elapsed = time.monotonic() - started

    assert (result.status, result.reason_code) == ("halted", "model_unavailable")
    assert elapsed < 2.0, f"a 0.5 s timeout took {elapsed:.2f} s"
    assert len(openai_stub.requests) == 1
    [call] = _model_calls(agent, result.thread_id)
    assert call["success"] is False and "timeout" in call["detail"]


def test_timeouts_are_retried_each_cut_off(
    provider: Callable[..., SafeAgent], openai_stub: OpenAIStub
) -> None:  # noqa: F811
    openai_stub.script(delay(3.0))  # repeats: every attempt is slow
    agent = provider(timeout_s=0.3, retry={"max_retries": 2})

    started = time.monotonic()
    result = _run(agent)
    elapsed = time.monotonic() - started

    assert (result.status, result.reason_code) == ("halted", "model_unavailable")
    assert len(openai_stub.requests) == 3
    assert elapsed < 3.0, (
        f"3 attempts at a 0.3 s timeout took {elapsed:.2f} s (one slow answer is 3 s)"
    )
    [call] = _model_calls(agent, result.thread_id)
    assert call["retry_count"] == 2


# --------------------------------------------------------------------------- retries


@pytest.mark.parametrize("status", [500, 429])
def test_transient_errors_are_retried_then_succeed(
    provider: Callable[..., SafeAgent],
    openai_stub: OpenAIStub,  # noqa: F811
    status: int,
) -> None:
    openai_stub.script(http_error(status), http_error(status), text(ANSWER, usage=(50, 10)))
    slept: list[float] = []
    agent = provider(sleep=slept.append)

    result = _run(agent)

    assert (result.status, result.answer) == ("answered", ANSWER)
    assert len(openai_stub.requests) == 3
    assert len(slept) == 2, "each retry must back off first"
    [call] = _model_calls(agent, result.thread_id)
    assert call["success"] is True and call["retry_count"] == 2
    assert result.cost_usd == pytest.approx(_price(50, 10)), (
        "an error response bills nothing: only the reply is charged"
    )
    assert call["cost_usd"] == pytest.approx(result.cost_usd, abs=1e-12)


def test_rate_limit_gives_up_after_max_retries(
    provider: Callable[..., SafeAgent], openai_stub: OpenAIStub
) -> None:  # noqa: F811
    openai_stub.script(http_error(429))
    agent = provider(retry={"max_retries": 1})

    result = _run(agent)

    assert (result.status, result.reason_code) == ("halted", "model_unavailable")
    assert len(openai_stub.requests) == 2  # retried once, then given up
    assert "HTTP 429" in _model_calls(agent, result.thread_id)[0]["detail"]


@pytest.mark.parametrize("status", [400, 401])
def test_client_errors_are_not_retried(
    provider: Callable[..., SafeAgent],
    openai_stub: OpenAIStub,  # noqa: F811
    status: int,
) -> None:
    openai_stub.script(http_error(status), text(ANSWER))  # a retry would have succeeded
    slept: list[float] = []
    agent = provider(sleep=slept.append)  # max_retries stays 3

    result = _run(agent)

    assert (result.status, result.reason_code) == ("halted", "model_rejected_request")
    assert len(openai_stub.requests) == 1
    assert slept == []
    assert f"HTTP {status}" in result.answer
    [call] = _model_calls(agent, result.thread_id)
    assert call["retry_count"] == 0 and call["success"] is False


def test_backoff_is_exponential_with_jitter(
    openai_stub: OpenAIStub,
    monkeypatch: pytest.MonkeyPatch,  # noqa: F811
    make_agent: AgentFactory,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_BASE_URL", openai_stub.base_url)
    openai_stub.script(http_error(500))  # repeats
    slept: list[float] = []
    config = make_config(
        retry={"max_retries": 3, "base_delay_s": 1.0, "max_jitter_s": 0.5},
        model={"name": MODEL, "timeout_s": 5.0},
    )
    agent = make_agent(config=config, sleep=slept.append)

    result = _run(agent)

    assert (result.status, result.reason_code) == ("halted", "model_unavailable")
    assert len(openai_stub.requests) == 4
    assert len(slept) == 3
    for delay_s, low in zip(slept, (1.0, 2.0, 4.0), strict=True):
        assert low <= delay_s <= low + 0.5, slept


# --------------------------------------------------------------------------- malformed bodies


@pytest.mark.parametrize(
    "step", [invalid_json(), missing_choices()], ids=["invalid_json", "missing_choices"]
)
def test_malformed_body_halts_with_structure(
    provider: Callable[..., SafeAgent],
    openai_stub: OpenAIStub,  # noqa: F811
    step: Any,
) -> None:
    openai_stub.script(step, text(ANSWER))
    agent = provider()

    result = _run(agent)  # must not raise

    assert result.status == "halted"
    assert result.reason_code == "model_unavailable"
    assert result.answer.startswith(
        "I cannot do this right now: the model call failed (bad_response)"
    )
    assert len(openai_stub.requests) == 1, "a malformed body is not a transient failure"
    [call] = _model_calls(agent, result.thread_id)
    assert call["success"] is False and call["error"]


# --------------------------------------------------------------------------- circuit breaker


def test_breaker_opens_and_stops_calling_the_provider(
    provider: Callable[..., SafeAgent],  # noqa: F811
    openai_stub: OpenAIStub,
) -> None:
    openai_stub.script(http_error(500))  # repeats
    agent = provider(retry={"max_retries": 0})
    threshold = agent.services.config.breaker.failure_threshold
    assert threshold == 5

    for n in range(1, threshold + 1):
        result = _run(agent)
        assert (result.status, result.reason_code) == ("halted", "model_unavailable")
        assert len(openai_stub.requests) == n

    openai_stub.script(
        text(ANSWER)
    )  # the provider would answer now, but the breaker must not ask it
    result = _run(agent)

    assert (result.status, result.reason_code) == ("halted", "breaker_open")
    assert len(openai_stub.requests) == threshold, "an open breaker must not let a request through"
    assert "cannot do this right now" in result.answer and "Nothing was done" in result.answer
    assert "breaker open" in result.answer
    assert "Traceback" not in result.answer and "HTTP" not in result.answer
    assert result.cost_usd == 0.0 and result.iterations == 0
    assert _model_calls(agent, result.thread_id) == []
