"""Nothing private leaves unredacted through a real `langgraph dev` stream (issue 12).

A Studio user streams a run with every stream mode the server accepts, through the real
langgraph-sdk client. The user's message carries an e-mail, phone, card, SSN, IBAN, JWT and API
key; the model (the local OpenAI-compatible stub, streaming SSE token by token, as a real
provider does for Studio) looks an order up, then answers echoing some of those and adding
values of its own. Every streamed event, and the thread's checkpoint history, is searched:

* the answer's own values must never appear (item 1: the answer is judged before any node
  writes it, and the model's tokens are not streamed);
* the user's values must not either (item 2: validate_input tokenizes or redacts them before
  the model, and the thread, keep them);
* the desk's contact data in the tool result reaches the client as vault tokens (item 1, the
  display policy for tool messages).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.integration.openai_stub import OpenAIStub, running_stub, text, tool_call

if TYPE_CHECKING:
    from tests.integration.conftest import StudioServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

REPO_ROOT = Path(__file__).resolve().parents[2]
USER = {
    "email": "jane.doe@contoso.com",
    "phone": "+1 415-555-0199",
    "card": "4111 1111 1111 1111",
    "ssn": "123-45-6789",
    "iban": "DE89 3704 0044 0532 0130 00",
    "jwt": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
    "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "api_key": "sk-proj-9fQ2xLm7Rt4Vb8Nc3Kd6Hs1Jp5Wz0Ya",
}
MESSAGE = (
    f"Where is order 1001? I am {USER['email']}, {USER['phone']}, card {USER['card']}, "
    f"SSN {USER['ssn']}, IBAN {USER['iban']}. Token {USER['jwt']}, key {USER['api_key']}."
)
MODEL_OWN = {
    "email": "billing.desk@contoso-pay.com",
    "phone": "+44 20 7946 0958",
    "card": "5555 5555 5555 4444",
    "api_key": "sk-ant-api03-Zq8Lw2Nv5Tx1Rb7Kc4Mh9Pd3Sf6Gj0Ya",
}
ANSWER = (
    f"Order 1001 is processing. On file: {USER['email']}, {USER['phone']}, "
    f"card {USER['card']}, SSN {USER['ssn']}. Billing: {MODEL_OWN['email']}, {MODEL_OWN['phone']}, "
    f"card {MODEL_OWN['card']}, key {MODEL_OWN['api_key']}."
)
DESK = {"desk email": "ada.lovelace@example.com", "desk phone": "555-0100"}
"""Customer C-100 of order 1001, as get_order returns them (tools/_seed.py)."""

MODES = ["values", "updates", "messages-tuple", "custom", "debug", "tasks", "checkpoints", "events"]
"""Every mode the server's run endpoints accept at once (`tools` and `lifecycle` are refused with
422 there); `messages-tuple` is what Studio and agent-chat-ui use."""
LEGACY_MODES = ["messages", "values"]
"""The server's older `messages` format (partial/complete), which cannot share a run with
`messages-tuple`."""

CONFIG = """
[model]
name = "gpt-4o-mini"
timeout_s = 10

[retry]
max_retries = 0
"""


def _variants(values: dict[str, str]) -> dict[str, str]:
    """Each value, and digit runs also without their spaces (a card is a card either way)."""
    out = dict(values)
    out.update({f"{k} (no spaces)": v.replace(" ", "") for k, v in values.items() if " " in v})
    return out


def _server_env(stub: OpenAIStub, root: Path) -> dict[str, str]:
    config = root / "safe-agent.toml"
    config.write_text(CONFIG)
    return {
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": stub.base_url,
        "SAFE_AGENT_CONFIG": str(config),
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "PYTHONPATH": str(REPO_ROOT),
    }


def _stream(server: StudioServer, client: Any, modes: list[str]) -> tuple[str, list[Any]]:
    thread_id = client.threads.create()["thread_id"]
    parts = list(
        client.runs.stream(
            thread_id,
            "safe_agent",
            stream_mode=modes,
            input={"messages": [{"role": "user", "content": MESSAGE}]},
        )
    )
    errors = [p.data for p in parts if p.event == "error"]
    assert not errors, f"{errors}\n{server.log_tail()}"
    return thread_id, parts


@dataclass
class Streamed:
    """Two runs streamed from one server: every mode at once, then the legacy messages format."""

    parts: list[Any]
    legacy: list[Any]
    history: str
    provider_streamed: list[bool]
    log: str


@pytest.fixture(scope="module")
def streamed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Streamed:
    """Start `langgraph dev` on the stub, stream both runs as a read user, keep what was seen."""
    from tests.integration.conftest import LANGGRAPH_BIN, StudioServer

    if not LANGGRAPH_BIN.exists():
        pytest.skip(f"{LANGGRAPH_BIN} is missing: run `make test` to install the dev extras")
    root = tmp_path_factory.mktemp("stream-privacy")
    steps = [tool_call("get_order", {"order_id": "1001"}), text(ANSWER)]
    with running_stub(*steps, *steps) as stub:
        server = StudioServer(root / "studio", root / "var", env=_server_env(stub, root))
        request.addfinalizer(server.stop)
        server.start()
        client = server.client(server.add_principal("u-privacy", role="read"))
        thread_id, parts = _stream(server, client, MODES)
        legacy_thread, legacy = _stream(server, client, LEGACY_MODES)
        history = _history(client, thread_id) + _history(client, legacy_thread)
        client.close()
        return Streamed(
            parts,
            legacy,
            history,
            [r.stream for r in stub.completion_requests],
            server.log_tail(4000),
        )


def _leaks(parts: list[Any], values: dict[str, str]) -> list[str]:
    """Each streamed event that shows a value, as `event: names (excerpt)`."""
    found = []
    for part in parts:
        dumped = json.dumps(part.data, default=str)
        if hits := [name for name, value in values.items() if value in dumped]:
            found.append(f"{part.event}: {hits} ({dumped[:200]}...)")
    return found


def _history(client: Any, thread_id: str) -> str:
    return json.dumps(client.threads.get_history(thread_id, limit=100), default=str)


def _final_answer(parts: list[Any]) -> str:
    values = [p.data for p in parts if p.event == "values" and isinstance(p.data, dict)]
    assert values, "no values event was streamed"
    return str(values[-1]["messages"][-1]["content"])


def test_every_mode_was_streamed_and_the_answer_arrived_redacted(streamed: Streamed) -> None:
    seen = {p.event.split("|")[0] for p in [*streamed.parts, *streamed.legacy]}
    assert {
        "values",
        "updates",
        "messages",
        "debug",
        "tasks",
        "checkpoints",
        "events",
        "messages/complete",
    } <= seen, seen
    assert any(streamed.provider_streamed), f"never streamed: {streamed.provider_streamed}"
    answer = _final_answer(streamed.parts)
    assert "[REDACTED_" in answer and "Order 1001 is processing" in answer, answer


def test_no_stream_mode_or_checkpoint_carries_the_unjudged_answer(streamed: Streamed) -> None:
    """Item 1: the answer is judged before any client sees it, in every mode and in the history."""
    own = _variants(MODEL_OWN)
    assert not _leaks(streamed.parts, own), "\n".join(_leaks(streamed.parts, own)) + streamed.log
    assert not _leaks(streamed.legacy, own), "\n".join(_leaks(streamed.legacy, own))
    assert not [n for n, v in own.items() if v in streamed.history], "raw answer in the history"


def test_tool_messages_reach_the_client_tokenized(streamed: Streamed) -> None:
    """Item 1, tool messages: the desk's contact data reaches the client as vault tokens."""
    assert "[[pii:email:" in json.dumps([p.data for p in streamed.parts], default=str)
    assert not _leaks(streamed.parts, DESK), "\n".join(_leaks(streamed.parts, DESK))
    assert not [n for n, v in DESK.items() if v in streamed.history], "raw contact data in history"


def test_the_users_own_values_are_not_streamed_back_raw(streamed: Streamed) -> None:
    """Item 2: the user's values are tokenized or redacted before the thread keeps them."""
    user = _variants(USER)
    assert not _leaks(streamed.parts, user), "\n".join(_leaks(streamed.parts, user))
    assert not _leaks(streamed.legacy, user), "\n".join(_leaks(streamed.legacy, user))
    assert not [n for n, v in user.items() if v in streamed.history], "raw input in the history"
