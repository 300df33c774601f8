"""Spend that streaming cannot dodge (issue 11, item 5), through a real `langgraph dev`.

Studio and every LangGraph client stream: with `stream_mode` "messages" the server's callback
handler makes ChatOpenAI call the provider with `"stream": true`. An OpenAI-compatible provider
then reports usage only if the request asks for it (`stream_options.include_usage`); the local
stub (tests/integration/openai_stub.py) behaves exactly like that. The provider bills the tokens
either way, so the run must be charged what the provider served:

* when the provider can report usage, the run's spend is that usage priced by the table;
* when it cannot (a gateway that drops the usage chunk), the call is charged its reservation's
  worst case (at least `max_output_tokens` of output), never $0.

The spend is read where the server recorded it: the `model_call` audit rows (tokens, cost) and
the spend ledger in the server's data folder (`StudioServer.data`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from safe_agent.stores.audit import AuditLog
from safe_agent.stores.spend import SpendLedger
from tests.integration.openai_stub import OpenAIStub, running_stub, text, tool_call

if TYPE_CHECKING:
    from tests.integration.conftest import StudioServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL = "gpt-4o-mini"
PRICE_IN_PER_MTOK, PRICE_OUT_PER_MTOK = (
    0.15,
    0.60,
)  # the published gpt-4o-mini price, an independent oracle
MAX_OUTPUT_TOKENS = (
    1024  # [budget] max_output_tokens below: the output a reservation's worst case assumes
)
STREAM_MODES = ["values", "updates", "messages-tuple"]
USAGES = [(1200, 40), (2000, 100)]
ANSWER = "Refunds are issued to the original payment method within 5 business days."

CONFIG = f"""
[model]
name = "{MODEL}"
timeout_s = 10

[retry]
max_retries = 0

[budget]
max_output_tokens = {MAX_OUTPUT_TOKENS}
"""


def _price(tokens_in: int, tokens_out: int) -> float:
    return (tokens_in * PRICE_IN_PER_MTOK + tokens_out * PRICE_OUT_PER_MTOK) / 1_000_000


def _server_env(stub: OpenAIStub, tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "safe-agent.toml"
    config.write_text(CONFIG)
    return {
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": stub.base_url,
        "SAFE_AGENT_CONFIG": str(config),
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",  # the stub is local
        "PYTHONPATH": str(REPO_ROOT),
    }  # the server imports this checkout's code


def _streamed_run(server: StudioServer, user_id: str) -> tuple[str, list[Any]]:
    """Stream one refund question as `user_id` through the SDK with every stream mode.

    Return thread, parts.
    """
    client = server.client(server.add_principal(user_id, role="read"))
    thread_id = client.threads.create()["thread_id"]
    parts = list(
        client.runs.stream(
            thread_id,
            "safe_agent",
            input={"messages": [{"role": "user", "content": "How do refunds work?"}]},
            stream_mode=STREAM_MODES,
        )
    )
    errors = [p.data for p in parts if p.event == "error"]
    assert not errors, f"{errors}\n{server.log_tail()}"
    assert any(p.event.startswith("messages") for p in parts), (
        "no messages-tuple event was streamed"
    )
    client.close()
    return thread_id, parts


def _recorded(
    server: StudioServer, thread_id: str, user_id: str
) -> tuple[list[dict[str, Any]], float]:
    """The thread's model_call audit rows and the user's settled model spend in the ledger."""
    calls = [
        r
        for r in AuditLog(server.data / "audit.sqlite").records(thread_id=thread_id)
        if r["kind"] == "model_call"
    ]
    rows = [r for r in SpendLedger(server.data / "spend.sqlite").rows() if r["user_id"] == user_id]
    assert rows and all(r["status"] == "settled" for r in rows), rows
    return calls, sum(r["settled_usd"] or 0.0 for r in rows)


def _final_values(parts: list[Any]) -> dict[str, Any]:
    values = [p.data for p in parts if p.event == "values" and isinstance(p.data, dict)]
    assert values, "no values event was streamed"
    return values[-1]


def test_streamed_run_is_charged_the_providers_usage(
    start_studio_server: Callable[[dict[str, str]], StudioServer], tmp_path: Path
) -> None:
    with running_stub(
        tool_call("search_kb", {"query": "refund policy"}, usage=USAGES[0]),
        text(ANSWER, usage=USAGES[1]),
    ) as stub:
        server = start_studio_server(_server_env(stub, tmp_path))
        thread_id, parts = _streamed_run(server, "u-streamer")

        served = stub.served
        streamed = [r.stream for r in stub.completion_requests]
        asked_usage = [r.include_usage for r in stub.completion_requests]
    assert [(s.prompt_tokens, s.completion_tokens) for s in served] == USAGES, (
        served,
        server.log_tail(),
    )
    assert _final_values(parts)["messages"][-1]["content"] == ANSWER
    calls, ledger_usd = _recorded(server, thread_id, "u-streamer")
    expected = [_price(i, o) for i, o in USAGES]  # 0.000204 + 0.00036
    where = (
        f"provider billed {USAGES} = ${sum(expected):.6f}; recorded: audit tokens "
        f"{[(c['tokens_in'], c['tokens_out']) for c in calls]}, "
        f"audit cost {[c['cost_usd'] for c in calls]}, "
        f"ledger ${ledger_usd}; requests streamed {streamed}, asked for usage {asked_usage}"
    )

    assert [(c["tokens_in"], c["tokens_out"]) for c in calls] == USAGES, where
    assert [c["cost_usd"] for c in calls] == pytest.approx(expected, abs=1e-12), where
    assert ledger_usd == pytest.approx(sum(expected), abs=1e-12) and ledger_usd > 0, where


def test_streamed_call_without_usage_is_charged_its_worst_case(
    start_studio_server: Callable[[dict[str, str]], StudioServer], tmp_path: Path
) -> None:
    """A gateway that never sends the usage chunk: usage is unknown, so worst case is charged."""
    with running_stub(text(ANSWER, usage=USAGES[1]), honor_include_usage=False) as stub:
        server = start_studio_server(_server_env(stub, tmp_path))
        thread_id, parts = _streamed_run(server, "u-no-usage")
        served = stub.served
    assert len(served) == 1 and not served[0].usage_sent, served
    assert _final_values(parts)["messages"][-1]["content"] == ANSWER
    calls, ledger_usd = _recorded(server, thread_id, "u-no-usage")
    floor = _price(0, MAX_OUTPUT_TOKENS)  # the worst case holds at least the whole output allowance
    where = (
        f"a call whose usage is unknown was charged: audit {[c['cost_usd'] for c in calls]}, "
        f"ledger ${ledger_usd}; its worst case is >= ${floor} (never $0)"
    )

    assert len(calls) == 1, calls
    assert calls[0]["cost_usd"] >= floor, where
    assert ledger_usd >= floor, where
