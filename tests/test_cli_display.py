"""What `run`, `resume` and `pending` print: secrets masked, what an approver decides on shown.

Issue 12.4: `safe-agent run --json` (paused) and `safe-agent pending` printed the raw card number
and API key of a request. The model here proposes calls whose arguments hold a card, an API key, a
JWT, an SSN, an IBAN, a private key and a random token (as a hijacked model, or one that read them
in a tool result, would): no command may print one of them, while the tool, the amount, the order
id, the recipient and the action digest (bound to the real arguments) are shown as they are.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from typing import Any

import pytest
from click.testing import CliRunner
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from safe_agent import SafeAgent, build_services
from safe_agent.chat_models import ScriptedChatModel
from safe_agent.cli import cli
from safe_agent.policies.display import MASKED_KINDS, VISIBLE_KINDS, mask_for_display
from safe_agent.settings import data_paths
from safe_agent.stores.principals import PrincipalDirectory

NOW = 1_800_000_000.0
RECIPIENT = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"
API_KEY = "sk-proj-Ab3dE5fG7hJ9kL1mN3pQ5rS7tU9x"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ."
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
SSN = "123-45-6789"
IBAN = "DE89 3704 0044 0532 0130 00"
PEM_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"
PEM = f"-----BEGIN PRIVATE KEY-----\n{PEM_BODY}\n-----END PRIVATE KEY-----"
TOKEN = "Zq8Xw2Lp5Rt7Vb9Nm3Kc6Hd4Fg1Js0"
RAW = [
    CARD,
    CARD.replace(" ", ""),
    API_KEY,
    JWT,
    JWT.split(".")[2],
    SSN,
    IBAN,
    IBAN.replace(" ", ""),
    PEM_BODY,
    TOKEN,
]
BODY = (
    f"Your refund of $25 on order 1001 is on its way to card {CARD}. Internal: key {API_KEY}, "
    f"session {JWT}, ssn {SSN}, iban {IBAN}, reset token {TOKEN}\n{PEM}"
)
REASON = f"customer sent card {CARD} and ssn {SSN}"
ASK = "Please tell jane.doe@example.com about her refund"


def _respond(messages: list[BaseMessage]) -> AIMessage:
    if isinstance(messages[-1], HumanMessage):
        return AIMessage(
            content="",
            tool_calls=[
                {
                    "id": "m1",
                    "name": "send_email",
                    "args": {"to": RECIPIENT, "subject": "Refund for order 1001", "body": BODY},
                },
                {
                    "id": "r1",
                    "name": "issue_refund",
                    "args": {"order_id": "1001", "amount_usd": 25.0, "reason": REASON},
                },
            ],
        )
    return AIMessage(content="Done.")


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Principals of the test home, and a CLI whose model proposes calls full of secrets."""
    monkeypatch.delenv("SAFE_AGENT_API_KEY", raising=False)
    model = ScriptedChatModel(respond=_respond)

    def open_with_model(cls: type[SafeAgent], root: Any = None, **kwargs: Any) -> SafeAgent:
        return cls(build_services(root=root, model=model, **kwargs))

    monkeypatch.setattr(SafeAgent, "open", classmethod(open_with_model))
    directory = PrincipalDirectory(data_paths().principals)
    issued = {"ops-1": directory.bootstrap("ops-1", now=NOW)[1]}
    for pid, role in {"u-123": "write", "approver-7": "admin"}.items():
        issued[pid] = directory.add(pid, role=role, now=NOW)[1]
    return issued


def _cli(*args: str, key: str) -> str:
    result = CliRunner().invoke(cli, list(args), env={"SAFE_AGENT_API_KEY": key})
    assert result.exit_code == 0, result.output
    return result.stdout


def _no_secret(out: str) -> None:
    leaked = [raw for raw in RAW if raw in out or json.dumps(raw)[1:-1] in out]
    assert leaked == [], out


def _real_digests() -> list[str]:
    """The digests the graph bound the approval to, read through Python (trusted, unmasked)."""
    with SafeAgent(build_services(model=ScriptedChatModel(respond=_respond))) as agent:
        [item] = agent.pending()
    return [item.request["action_digest"], *(b["action_digest"] for b in item.request["batch"])]


def _shows_what_an_approver_needs(out: str, digests: list[str]) -> None:
    # The recipient as typed: the state holds the vault's stand-in (the input policy tokenizes
    # e-mails), and the display reveals the kinds an approver must read from the thread's vault.
    assert "send_email" in out and "issue_refund" in out
    assert RECIPIENT in out and "[[pii:email:" not in out, out
    assert '"order_id": "1001"' in out and '"amount_usd": 25.0' in out and "order 1001" in out
    assert all(len(d) == 64 and d in out for d in digests), out


def test_run_json_and_human_print_a_paused_request_masked(keys: dict[str, str]) -> None:
    out = _cli("run", ASK, "--json", key=keys["u-123"])
    data = json.loads(out)
    assert data["status"] == "paused"
    _no_secret(out)
    _shows_what_an_approver_needs(out, _real_digests())
    body = data["approval"]["action_requests"][0]["args"]["body"]
    assert all(p in body for p in ("[REDACTED_CARD]", "[REDACTED_PRIVATE_KEY]", "[REDACTED_SSN]"))
    human = _cli("run", ASK, key=keys["u-123"])
    assert "waiting for approval: send_email" in human and "digest " in human
    _no_secret(human)


def test_pending_and_pending_json_show_the_request_masked(keys: dict[str, str]) -> None:
    _cli("run", ASK, "--json", key=keys["u-123"])
    digests = _real_digests()
    for args in (["pending"], ["pending", "--json"]):
        out = _cli(*args, key=keys["ops-1"])
        _no_secret(out)
        _shows_what_an_approver_needs(out, digests)
    [item] = json.loads(_cli("pending", "--json", key=keys["ops-1"]))
    assert item["action_digest"] == digests[0] and item["tier"] == "irreversible"


def test_resume_prints_masked_and_the_tools_still_get_the_real_values(keys: dict[str, str]) -> None:
    thread = json.loads(_cli("run", ASK, "--json", key=keys["u-123"]))["thread_id"]
    # The requester may not approve: the result is paused again, and shows the request again.
    refused = _cli("resume", thread, "--approve", "--json", key=keys["u-123"])
    assert json.loads(refused)["status"] == "paused"
    _no_secret(refused)
    _shows_what_an_approver_needs(refused, _real_digests())
    _no_secret(_cli("resume", thread, "--approve", key=keys["u-123"]))
    done = _cli("resume", thread, "--approve", "--json", key=keys["approver-7"])
    assert json.loads(done)["status"] == "answered"
    _no_secret(done)
    with closing(sqlite3.connect(data_paths().desk)) as db:
        [(to, body)] = db.execute("SELECT to_addr, body FROM outbox").fetchall()
        [(reason,)] = db.execute("SELECT reason FROM refunds").fetchall()
    # Only the printing was masked: the tools ran with the real values (the desk's own data).
    assert to == RECIPIENT and CARD in body and API_KEY in body and SSN in reason


def test_mask_for_display_keeps_ids_amounts_recipients_and_tokens() -> None:
    value = {
        "thread_id": "3f2a" * 8,
        "action_digest": "ab4111111111111111cd" + "0" * 44,
        "args": {
            "to": RECIPIENT,
            "amount_usd": 25.0,
            "order_id": "1001",
            "customer_id": "C-100",
            "new_address": "12 Analytical Way, London N1 9GU",
            "phone": "+44 20 7946 0958",
            "body": f"card {CARD}, vaulted [[pii:card:1a2b3c4d]]",
            "api_key": "anything",
        },
    }
    shown = mask_for_display(value)
    assert shown["thread_id"] == value["thread_id"]
    assert shown["action_digest"] == value["action_digest"]
    assert {k: v for k, v in shown["args"].items() if k not in ("body", "api_key")} == {
        k: v for k, v in value["args"].items() if k not in ("body", "api_key")
    }
    assert shown["args"]["body"] == "card [REDACTED_CARD], vaulted [[pii:card:1a2b3c4d]]"
    assert shown["args"]["api_key"] == "[REDACTED_SECRET]"
    assert value["args"]["api_key"] == "anything"  # the input is not changed
    assert set(MASKED_KINDS) == {"api_key", "card", "iban", "private_key", "secret", "ssn", "token"}
    assert VISIBLE_KINDS == {"email", "phone", "ip"}
