"""A second real provider: `[model] provider = "anthropic"` → init_chat_model → the anthropic SDK.

`langchain_anthropic.ChatAnthropic` and the official `anthropic` SDK talk HTTP to a local
Messages API stub (tests/integration/anthropic_stub.py); nothing of either is mocked. Each test
drives the whole graph (budget, breaker, reason, authorize, approval, execute_tool, audit).
Prices: REFERENCES.md lists none for Claude, so the built-in table has no Claude row and the
operator sets one (`CLAUDE_PRICE` below, an operator's row written by the test); an unpriced
Claude name is billed the unknown-model price.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import FAST_RETRY, make_config
from langchain_core.messages import HumanMessage

from safe_agent import SafeAgent
from safe_agent.errors import ConfigError
from safe_agent.policies.config import PricingConfig
from safe_agent.tools.support_desk import ALL_TOOL_NAMES
from tests.integration import openai_stub
from tests.integration.anthropic_stub import (
    AnthropicStub,
    error,
    running_stub,
    text,
    tool_use,
)

pytestmark = pytest.mark.timeout(60)

CLAUDE = "claude-haiku-4-5"
CLAUDE_PRICE = {"input_per_mtok": 1.00, "output_per_mtok": 5.00}  # the operator's row (this test's)
GPT_PRICE = (0.15, 0.60)  # the built-in gpt-4o-mini row
ANSWER = "Refunds are issued to the original payment method within 5 business days."
REFUND = "Please refund $25 on order 1001"
APPROVE = {"decisions": [{"type": "approve"}]}
PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def _claude_usd(tokens_in: int, tokens_out: int) -> float:
    return (
        tokens_in * CLAUDE_PRICE["input_per_mtok"] + tokens_out * CLAUDE_PRICE["output_per_mtok"]
    ) / 1_000_000


def _pricing(**extra: dict[str, float]) -> dict[str, Any]:
    """The operator's Claude row (and any `extra` rows), on top of the built-in table."""
    return {"models": {CLAUDE: CLAUDE_PRICE, **extra}}


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[AnthropicStub]:
    """A running Messages API stub; the process has an Anthropic key and no proxy."""
    for name in (*PROXIES, "ANTHROPIC_BASE_URL", "ANTHROPIC_API_URL", "LANGSMITH_GATEWAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-anthropic-key")
    with running_stub() as running:
        yield running


def _config(
    stub: AnthropicStub, *, name: str = CLAUDE, retry: dict[str, Any] | None = None, **model: Any
) -> Any:
    return make_config(
        retry={**FAST_RETRY, **(retry or {})},
        pricing=_pricing(),
        model={
            "provider": "anthropic",
            "name": name,
            "base_url": stub.base_url,
            "timeout_s": 5.0,
            **model,
        },
    )


def _agent(make_agent: Callable[..., SafeAgent], config: Any, **kwargs: Any) -> SafeAgent:
    agent = make_agent(config=config, **kwargs)
    assert agent.services.provider == "anthropic", "the primary must be the real ChatAnthropic"
    assert type(agent.services.model).__name__ == "ChatAnthropic"
    return agent


def _model_calls(agent: SafeAgent, thread_id: str) -> list[dict[str, Any]]:
    return [r for r in agent.audit(thread_id=thread_id) if r["kind"] == "model_call"]


# --------------------------------------------------------------------------- answers and tools


def test_read_answer_over_the_messages_api(make_agent: Any, stub: AnthropicStub) -> None:
    stub.script(text(ANSWER, usage=(1500, 60)))
    agent = _agent(make_agent, _config(stub))

    result = agent.run("How do refunds work?", user_id="alice", role="read")

    assert (result.status, result.reason_code, result.answer) == ("answered", "ok", ANSWER)
    [sent] = stub.requests
    assert sent.path == "/v1/messages"
    key_sent = sent.headers.get("x-api-key") or sent.headers.get("authorization", "").removeprefix(
        "Bearer "
    )
    assert key_sent == "test-anthropic-key" and "anthropic-version" in sent.headers
    assert sent.body["model"] == CLAUDE and sent.body["max_tokens"] == 1024
    assert isinstance(sent.body["system"], str) and sent.body["system"].strip(), "top-level system"
    assert [m["role"] for m in sent.body["messages"]] == ["user"]
    assert sorted(sent.tool_names) == sorted(ALL_TOOL_NAMES)
    assert all("input_schema" in t for t in sent.body["tools"]), "tools in Anthropic's shape"
    assert result.cost_usd == pytest.approx(_claude_usd(1500, 60), abs=1e-12)
    [call] = _model_calls(agent, result.thread_id)
    assert (call["tokens_in"], call["tokens_out"]) == (1500, 60)
    assert call["input"]["price_known"] is True and call["input"]["model"] == CLAUDE


def test_tool_use_goes_through_authorize_and_approval(make_agent: Any, stub: AnthropicStub) -> None:
    args = {"order_id": "1001", "amount_usd": 25, "reason": "customer request"}
    stub.script(
        tool_use("issue_refund", args, call_id="toolu_refund_1", preamble="Let me do it."),
        text("The refund of $25 on order 1001 is issued."),
    )
    agent = _agent(make_agent, _config(stub))

    paused = agent.run(REFUND, user_id="u-123", role="write")

    assert paused.status == "paused", paused
    assert paused.approval["action_requests"][0]["name"] == "issue_refund"
    assert len(stub.requests) == 1, "nothing more is asked of the model while a person decides"
    assert not [r for r in agent.audit(thread_id=paused.thread_id) if r["kind"] == "tool_execution"]

    done = agent.resume(paused.thread_id, APPROVE, approver_id="approver-7", approver_role="admin")

    assert done.status == "answered", done
    ran = [
        r
        for r in agent.audit(thread_id=paused.thread_id)
        if r["node"] == "execute_tool" and r["tool_name"] == "issue_refund"
    ]
    assert [(r["success"], r["approver_id"]) for r in ran] == [(True, "approver-7")]
    second = stub.requests[1].body["messages"]
    assert [m["role"] for m in second] == ["user", "assistant", "user"]
    assert any(
        b.get("type") == "tool_use" and b["id"] == "toolu_refund_1" for b in second[1]["content"]
    )
    [result_block] = [b for b in second[2]["content"] if b.get("type") == "tool_result"]
    assert result_block["tool_use_id"] == "toolu_refund_1"


def test_a_denied_tool_use_is_explained_to_claude(make_agent: Any, stub: AnthropicStub) -> None:
    args = {"order_id": "1001", "amount_usd": 25, "reason": "r"}
    stub.script(tool_use("issue_refund", args, call_id="toolu_denied"), text("I cannot refund."))
    agent = _agent(make_agent, _config(stub))

    result = agent.run(REFUND, user_id="alice", role="read")

    assert result.status == "answered" and result.answer == "I cannot refund."
    assert not [r for r in agent.audit(thread_id=result.thread_id) if r["kind"] == "tool_execution"]
    [block] = [
        b
        for b in stub.requests[1].body["messages"][-1]["content"]
        if b.get("type") == "tool_result"
    ]
    assert block["tool_use_id"] == "toolu_denied" and block.get("is_error") is True
    assert "denied" in str(block["content"]).lower() or "not" in str(block["content"]).lower()


# --------------------------------------------------------------------------- streaming spend


def _stream(agent: SafeAgent, message: str) -> tuple[str, list[Any]]:
    """Stream a run in process with the `messages` mode: LangGraph's handler makes it stream."""
    thread_id = "t-stream"
    config = {"configurable": {"thread_id": thread_id}}
    parts = list(
        agent.graph.stream(
            {"messages": [HumanMessage(message)]},
            config,
            context={"user_id": "alice", "role": "read"},
            stream_mode=["messages", "values"],
        )
    )
    return thread_id, parts


USAGES = [(1200, 40), (2000, 100)]


def _streamed(
    make_agent: Any,
    monkeypatch: pytest.MonkeyPatch,
    delta_usage: str,
) -> tuple[SafeAgent, str, list[Any], list[Any], list[Any]]:
    """A tool turn and an answer, streamed; return agent, thread, parts, requests, served."""
    for name in PROXIES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-anthropic-key")
    with running_stub(
        tool_use("search_kb", {"query": "refund policy"}, usage=USAGES[0]),
        text(ANSWER, usage=USAGES[1]),
        delta_usage=delta_usage,
    ) as stub:  # type: ignore[arg-type]
        agent = _agent(make_agent, _config(stub))
        thread_id, parts = _stream(agent, "How do refunds work?")
        return agent, thread_id, parts, stub.requests, stub.served


def test_streamed_usage_is_recorded_and_charged(
    make_agent: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Today's event shape: message_delta carries the cumulative usage, input tokens included."""
    usages = USAGES
    agent, thread_id, parts, requests, served = _streamed(make_agent, monkeypatch, "full")

    assert [r.stream for r in requests] == [True, True], "the SDK was asked for SSE"
    assert [(s.input_tokens, s.output_tokens, s.streamed) for s in served] == [
        (*u, True) for u in usages
    ]
    final = [p[1] for p in parts if p[0] == "values"][-1]
    assert final["messages"][-1].text == ANSWER  # streamed: content blocks, not one string
    assert agent.result(thread_id).answer == ANSWER
    calls = _model_calls(agent, thread_id)
    billed = [_claude_usd(*u) for u in usages]
    assert [(c["tokens_in"], c["tokens_out"]) for c in calls] == usages, calls
    assert [c["cost_usd"] for c in calls] == pytest.approx(billed, abs=1e-12)
    assert final["cost_usd"] == pytest.approx(sum(billed), abs=1e-12)


def test_a_stream_without_input_usage_is_charged_its_worst_case(
    make_agent: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """message_delta says only output_tokens (the input count stays in message_start, which
    ChatAnthropic does not read): the usage is incomplete, so the call is charged its worst
    case, never just its output."""
    agent, thread_id, parts, requests, served = _streamed(make_agent, monkeypatch, "output")

    assert [r.stream for r in requests] == [True, True]
    calls = _model_calls(agent, thread_id)
    billed = [_claude_usd(*u) for u in USAGES]
    floor = _claude_usd(0, 1024)  # a worst case holds at least the whole output allowance
    assert [c["input"]["usage_measured"] for c in calls] == [False, False], calls
    assert all(c["cost_usd"] >= max(b, floor) for c, b in zip(calls, billed, strict=True)), (
        [c["cost_usd"] for c in calls],
        billed,
    )
    assert all("no usage reported" in c["detail"] for c in calls)


# --------------------------------------------------------------------------- errors and the ladder


def test_rate_limit_and_overload_honour_retry_after(make_agent: Any, stub: AnthropicStub) -> None:
    stub.script(error(429, retry_after="2"), error(529, retry_after="1"), text("ok after waiting"))
    slept: list[float] = []
    config = _config(stub, retry={"max_retries": 2, "max_retry_after_s": 5})
    agent = _agent(make_agent, config, sleep=slept.append)

    result = agent.run("hi", user_id="alice", role="read")

    assert (result.status, result.answer) == ("answered", "ok after waiting")
    assert slept == [2.0, 1.0], "each Retry-After wins over the (zero) backoff"
    [call] = _model_calls(agent, result.thread_id)
    assert [(a["outcome"], a["status"]) for a in call["input"]["attempts"]] == [
        ("failed", 429),
        ("failed", 529),
        ("ok", None),
    ]
    assert result.cost_usd == pytest.approx(_claude_usd(100, 20), abs=1e-12), "errors cost $0"

    stub.script(error(529, retry_after="60"), text("never asked"))
    before, slept[:] = len(stub.requests), []
    halted = agent.run("hi", user_id="alice", role="read")
    assert (halted.status, halted.reason_code, slept) == ("halted", "model_unavailable", [])
    assert len(stub.requests) - before == 1, "a Retry-After beyond the cap is not waited for"


def test_client_error_is_not_retried(make_agent: Any, stub: AnthropicStub) -> None:
    stub.script(error(401), text("never asked"))
    agent = _agent(make_agent, _config(stub, retry={"max_retries": 3}))

    result = agent.run("hi", user_id="alice", role="read")

    assert (result.status, result.reason_code, result.cost_usd) == (
        "halted",
        "model_rejected_request",
        0.0,
    )
    assert len(stub.requests) == 1


def test_anthropic_falls_back_to_an_openai_compatible_server(
    make_agent: Any, stub: AnthropicStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FALLBACK_KEY", "openai-fallback-key")
    stub.script(error(529))
    with openai_stub.running_stub(openai_stub.text(ANSWER, usage=(300, 30))) as fallback:
        route = {
            "provider": "openai",
            "name": "gpt-4o-mini",
            "base_url": fallback.base_url,
            "api_key_env": "FALLBACK_KEY",
        }
        agent = _agent(make_agent, _config(stub, retry={"max_retries": 1}, fallbacks=[route]))
        result = agent.run("How do refunds work?", user_id="alice", role="read")
        sent = fallback.completion_requests

    assert (result.status, result.service_level, result.answer) == ("answered", "fallback", ANSWER)
    assert len(stub.requests) == 2 and len(sent) == 1
    assert sent[0].headers["authorization"] == "Bearer openai-fallback-key"
    [call] = _model_calls(agent, result.thread_id)
    assert [(a["model"], a["status"]) for a in call["input"]["attempts"]] == [
        (CLAUDE, 529),
        (CLAUDE, 529),
        ("gpt-4o-mini", None),
    ]
    assert result.cost_usd == pytest.approx(
        (300 * GPT_PRICE[0] + 30 * GPT_PRICE[1]) / 1e6, abs=1e-12
    )


def test_openai_falls_back_to_anthropic(
    make_agent: Any, stub: AnthropicStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub.script(text(ANSWER, usage=(800, 50)))
    with openai_stub.running_stub(openai_stub.http_error(500)) as primary:
        monkeypatch.setenv("OPENAI_API_KEY", "primary-key")
        monkeypatch.setenv("OPENAI_BASE_URL", primary.base_url)
        route = {"provider": "anthropic", "name": CLAUDE, "base_url": stub.base_url}
        config = make_config(
            retry={**FAST_RETRY, "max_retries": 0},
            pricing=_pricing(),
            model={"name": "gpt-4o-mini", "timeout_s": 5.0, "fallbacks": [route]},
        )
        agent = make_agent(config=config)
        result = agent.run("How do refunds work?", user_id="alice", role="read")

    assert agent.services.provider == "openai"
    assert (result.status, result.service_level, result.answer) == ("answered", "fallback", ANSWER)
    assert [r.path for r in stub.requests] == ["/v1/messages"]
    assert result.cost_usd == pytest.approx(_claude_usd(800, 50), abs=1e-12)


def test_read_only_level_tells_claude_in_its_system_prompt(
    make_agent: Any, stub: AnthropicStub
) -> None:
    """A kill switch on writes adds a system note after the conversation: Claude must get it."""
    stub.script(text("Here is what I can tell you."))
    agent = _agent(make_agent, _config(stub))
    agent.switch_off(
        "writes", reason="payment incident", operator_id="ops-1", operator_role="admin"
    )

    result = agent.run("How do refunds work?", user_id="alice", role="read")

    assert (result.status, result.service_level) == ("answered", "read_only"), result
    [sent] = stub.requests
    assert set(sent.tool_names) == {"search_kb", "get_order"}
    assert "unavailable right now" in sent.body["system"], "the model is told, not left guessing"


# --------------------------------------------------------------------------- prices and settings


def test_an_unpriced_claude_model_is_billed_the_unknown_price(
    make_agent: Any, stub: AnthropicStub
) -> None:
    stub.script(text(ANSWER, usage=(1000, 100)))
    agent = _agent(make_agent, _config(stub, name="claude-unlisted-1"))

    result = agent.run("How do refunds work?", user_id="alice", role="read")

    unknown = PricingConfig().unknown_model
    expected = (1000 * unknown.input_per_mtok + 100 * unknown.output_per_mtok) / 1_000_000
    assert result.cost_usd == pytest.approx(expected, abs=1e-12) and expected > _claude_usd(
        1000, 100
    )
    [call] = _model_calls(agent, result.thread_id)
    assert call["input"]["price_known"] is False and "priced conservatively" in call["detail"]


def test_the_sdk_gets_our_timeout_and_no_retries_of_its_own(
    make_agent: Any, stub: AnthropicStub
) -> None:
    agent = _agent(make_agent, _config(stub, timeout_s=7.0))
    model = agent.services.model
    assert (model.max_retries, model.default_request_timeout, model.max_tokens) == (0, 7.0, 1024)
    assert model.stream_usage is True


def test_a_missing_anthropic_key_is_one_line(
    make_agent: Any, stub: AnthropicStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(ConfigError) as raised:
        make_agent(config=_config(stub))
    assert "ANTHROPIC_API_KEY" in str(raised.value) and "\n" not in str(raised.value)
    assert stub.requests == []


def test_an_openai_compatible_server_that_is_not_openai(
    make_agent: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`provider = "openai"` + `base_url` + `api_key_env`: a local server, its own model name."""
    for name in PROXIES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOCAL_LLM_KEY", "local-key")
    local = "qwen2.5-7b-instruct"
    with openai_stub.running_stub(openai_stub.text(ANSWER, usage=(400, 40))) as server:
        config = make_config(
            retry=FAST_RETRY,
            pricing=_pricing(**{local: {"input_per_mtok": 0.0, "output_per_mtok": 0.0}}),
            model={
                "provider": "openai",
                "name": local,
                "base_url": server.base_url,
                "api_key_env": "LOCAL_LLM_KEY",
                "timeout_s": 5.0,
            },
        )
        agent = make_agent(config=config)
        result = agent.run("How do refunds work?", user_id="alice", role="read")
        [sent] = server.completion_requests

    assert "OPENAI_API_KEY" not in os.environ
    assert (agent.services.provider, result.status, result.answer) == ("openai", "answered", ANSWER)
    assert sent.body["model"] == local and sent.headers["authorization"] == "Bearer local-key"
    [call] = _model_calls(agent, result.thread_id)
    assert (call["tokens_in"], call["input"]["price_known"], result.cost_usd) == (400, True, 0.0)


@pytest.mark.slow
def test_cli_names_the_package_a_provider_needs(tmp_path: Path) -> None:
    """`provider = "google_genai"` without langchain-google-genai: one line, no traceback."""
    from safe_agent.stores.principals import PrincipalDirectory

    home = tmp_path / "home"
    key = PrincipalDirectory(home / "principals.sqlite").bootstrap("ops-1", now=1.8e9)[1]
    config = tmp_path / "gemini.toml"
    config.write_text('[model]\nprovider = "google_genai"\nname = "gemini-2.5-flash"\n')
    env = {
        **os.environ,
        "SAFE_AGENT_HOME": str(home),
        "SAFE_AGENT_CONFIG": str(config),
        "SAFE_AGENT_API_KEY": key,
    }
    done = subprocess.run(
        [sys.executable, "-m", "safe_agent", "run", "hi"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 1, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stdout + done.stderr, done.stderr
    assert "google_genai" in lines[0] and "pip install langchain-google-genai" in lines[0]


def test_an_operator_row_adds_to_the_built_in_prices() -> None:
    """`[pricing.models."claude-…"]` adds one row; it must not drop every built-in one."""
    import tomllib

    from safe_agent.policies.config import SafetyConfig

    row = f'[pricing.models."{CLAUDE}"]\ninput_per_mtok = 1.0\noutput_per_mtok = 5.0\n'
    table = SafetyConfig.model_validate(tomllib.loads(row)).pricing.models
    assert (table[CLAUDE].input_per_mtok, table[CLAUDE].output_per_mtok) == (1.0, 5.0)
    assert table["gpt-4o-mini"] == PricingConfig().models["gpt-4o-mini"]
    assert set(PricingConfig().models) <= set(table)
    override = '[pricing.models."gpt-4o-mini"]\ninput_per_mtok = 9.0\noutput_per_mtok = 9.0\n'
    assert (
        SafetyConfig.model_validate(tomllib.loads(override))
        .pricing.models["gpt-4o-mini"]
        .input_per_mtok
        == 9.0
    ), "an operator's row for a built-in model wins"


def test_the_docs_anthropic_example_runs_against_the_stub(
    make_agent: Any, stub: AnthropicStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/providers.md's Anthropic config on the stubs: Claude down, gpt-4o-mini serves."""
    import re
    import tomllib

    from safe_agent.policies.config import SafetyConfig

    doc = (Path(__file__).resolve().parents[2] / "docs" / "providers.md").read_text()
    section = doc.split("## Anthropic (Claude)", 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"```toml\n(.*?)```", section, re.S)
    raw = tomllib.loads(block)
    stub.script(error(529))
    monkeypatch.setenv("OPENAI_API_KEY", "openai-key")
    with openai_stub.running_stub(openai_stub.text(ANSWER, usage=(300, 30))) as fallback:
        raw["model"]["base_url"] = stub.base_url
        raw["model"]["fallbacks"][0]["base_url"] = fallback.base_url
        raw["retry"] = {**FAST_RETRY, "max_retries": 0}
        agent = _agent(make_agent, SafetyConfig.model_validate(raw))
        result = agent.run("How do refunds work?", user_id="alice", role="read")

    assert agent.services.model_name == raw["model"]["name"]
    assert (result.status, result.service_level, result.answer) == ("answered", "fallback", ANSWER)
    row = raw["pricing"]["models"][raw["model"]["name"]]
    table = agent.services.config.pricing.models
    assert table[raw["model"]["name"]].input_per_mtok == row["input_per_mtok"]
    assert "gpt-4o-mini" in table, "the docs' row is added to the built-in table"
    assert result.cost_usd == pytest.approx((300 * GPT_PRICE[0] + 30 * GPT_PRICE[1]) / 1e6)
