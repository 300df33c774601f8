"""What a refused model call costs: code and docs/providers.md must agree (issue 11, item 5).

docs/providers.md: "Only the successful attempt's `usage` is counted. Failed attempts return no
usage, so they add no tokens or cost." A 401 (bad key) is refused by the provider before any
token is processed, and it is never retried, so the run costs nothing: not in its result, not in
the `model_call` audit row, not in the spend ledger (the reservation is released, not settled
to a charge).

Real ChatOpenAI and openai SDK over HTTP against the local stub, as in test_openai_provider.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from helpers import FAST_RETRY, make_config

from safe_agent import SafeAgent
from tests.integration.openai_stub import (
    OpenAIStub,
    http_error,
    openai_stub,  # noqa: F401 - the fixture
    text,
)

pytestmark = pytest.mark.timeout(30)

MODEL = "gpt-4o-mini"


def test_a_401_costs_nothing(
    openai_stub: OpenAIStub,
    monkeypatch: pytest.MonkeyPatch,  # noqa: F811
    make_agent: Callable[..., SafeAgent],
) -> None:
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
        monkeypatch.delenv(name, raising=False)
    openai_stub.script(http_error(401), text("a retry would have answered"))
    agent = make_agent(
        config=make_config(retry=FAST_RETRY, model={"name": MODEL, "timeout_s": 5.0})
    )
    assert agent.services.provider == "openai"

    result = agent.run("How do refunds work?", user_id="alice", role="read")

    assert (result.status, result.reason_code) == ("halted", "model_rejected_request")
    assert len(openai_stub.requests) == 1, "a 401 is not retried"
    [call] = [r for r in agent.audit(thread_id=result.thread_id) if r["kind"] == "model_call"]
    ledger: list[dict[str, Any]] = agent.services.spend.rows()
    charged = sum(r["settled_usd"] or 0.0 for r in ledger)
    [line] = [b for b in agent.spend(user_id="alice").lines if b.scope == "user"]
    where = (
        f"a 401 was charged: result ${result.cost_usd}, audit ${call['cost_usd']} "
        f"(tokens {call['tokens_in']}/{call['tokens_out']}), ledger ${charged}, "
        f"user's day spent ${line.spent_usd} reserved ${line.reserved_usd}; docs/providers.md says "
        f"failed attempts add no tokens or cost"
    )
    assert call["success"] is False, call
    assert result.cost_usd == 0.0, where
    assert call["cost_usd"] == 0.0 and not call["tokens_in"] and not call["tokens_out"], where
    assert charged == 0.0, where
    assert (line.spent_usd, line.reserved_usd) == (0.0, 0.0), where
