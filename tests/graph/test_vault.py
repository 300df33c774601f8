"""The PII vault (`stores.vault`) and its policy (`policies.pii`): tokens that stand for values.

A token is deterministic per (thread, kind, value), reveals nothing, resolves only in its own
thread, and the value behind it is sealed at rest under a per-home key file (mode 0600).
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from safe_agent.policies.pii import TOKEN_PATTERN, check_pii, detect, tokens_to_placeholders
from safe_agent.policies.pii_config import PiiConfig
from safe_agent.stores.vault import UnknownToken, Vault

EMAIL = "ada.lovelace@example.com"


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    return Vault(tmp_path / "safety.sqlite", key_file=tmp_path / "vault.key")


def test_tokens_are_per_thread_deterministic_and_reveal_nothing(vault: Vault) -> None:
    one = vault.protect_text("t1", f"write to {EMAIL}", PiiConfig()).value
    again = vault.protect_text("t1", f"and {EMAIL.upper()} again", PiiConfig()).value
    other = vault.protect_text("t2", f"write to {EMAIL}", PiiConfig()).value
    [token] = [m.group(0) for m in TOKEN_PATTERN.finditer(one)]
    assert token.startswith("[[pii:email:") and EMAIL not in one and "ada" not in token
    assert token in again and token not in other
    assert vault.value_of("t1", token) == EMAIL
    with pytest.raises(UnknownToken):
        vault.value_of("t2", token)
    with pytest.raises(UnknownToken):
        vault.reveal_value("t1", {"to": "[[pii:email:00000000]]"})


def test_values_are_sealed_at_rest_under_a_0600_key(vault: Vault, tmp_path: Path) -> None:
    vault.protect_text("t1", f"{EMAIL} / card 4111 1111 1111 1111", PiiConfig())
    assert stat.S_IMODE((tmp_path / "vault.key").stat().st_mode) == 0o600
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("safety.sqlite*"))
    assert EMAIL.encode() not in stored and b"4111" not in stored
    reopened = Vault(tmp_path / "safety.sqlite", key_file=tmp_path / "vault.key")
    token = reopened.token("t1", "email", EMAIL)
    assert reopened.value_of("t1", token) == EMAIL  # another process with the same home reads it


def test_an_altered_row_is_as_good_as_unknown(vault: Vault) -> None:
    from safe_agent.stores._sqlite import session

    token = vault.issue("t1", list(detect(EMAIL).findings))[0]
    with session(vault.path) as db:
        db.execute("UPDATE pii_vault SET scope = 't2' WHERE token = ?", [token])  # moved to t2
    with pytest.raises(UnknownToken):
        vault.value_of("t2", token)


def test_actions_per_kind(vault: Vault) -> None:
    text = f"{EMAIL}, key sk-{'a1' * 12}, SSN 123-45-6789"
    config = PiiConfig(email="allow", ssn="redact")
    done = vault.protect_text("t1", text, config)
    assert EMAIL in done.value and "[REDACTED_SSN]" in done.value
    assert "[REDACTED_API_KEY]" in done.value
    assert {(s["kind"], s["action"]) for s in done.summary()} == {
        ("email", "allow"),
        ("api_key", "redact"),
        ("ssn", "redact"),
    }
    blocked = vault.protect_text("t1", text, PiiConfig(ssn="block"))
    verdict = check_pii(blocked.findings, blocked.actions)  # type: ignore[arg-type]
    assert not verdict.allowed and "ssn" in verdict.detail and "123-45" not in verdict.detail
    assert blocked.value == text and not vault.holds("t1", vault.token("t1", "email", EMAIL))


def test_tool_output_keeps_ids_and_tokenizes_what_it_hides(vault: Vault) -> None:
    digest = "4111111111111111" + "ab" * 24
    result = {
        "order_id": "1001",
        "digest": digest,
        "customer_email": EMAIL,
        "api_key": "hunter22",
        "total_usd": 89.9,
        "lines": [{"phone": "555-0100"}],
    }
    shown = vault.protect_value("t1", result, PiiConfig()).value
    assert shown["order_id"] == "1001" and shown["digest"] == digest and shown["total_usd"] == 89.9
    for key in ("customer_email", "api_key"):
        assert TOKEN_PATTERN.fullmatch(shown[key]), shown
    assert TOKEN_PATTERN.fullmatch(shown["lines"][0]["phone"])
    back, used = vault.reveal_value("t1", shown)
    assert back == {**result, "lines": [{"phone": "555-0100"}]} and len(used) == 3


def test_conceal_undoes_reveal_and_maps_a_known_raw_value_to_its_token(vault: Vault) -> None:
    token = vault.protect_text("t1", EMAIL, PiiConfig()).value
    args, used = vault.reveal_value("t1", {"to": token, "body": f"cc {token}"})
    assert args == {"to": EMAIL, "body": f"cc {EMAIL}"}
    assert vault.conceal_value("t1", args, used) == {"to": token, "body": f"cc {token}"}
    assert vault.conceal_value("t1", {"to": EMAIL}, {}) == {"to": token}
    assert vault.conceal_value("t1", {"to": "eve@evil.example"}, {}) == {"to": "eve@evil.example"}


def test_detection_leaves_tokens_and_forged_markers_alone() -> None:
    token = "[[pii:api_key:0123abcd]]"
    found = detect(f"password={token} and [REDACTED\U000f0000] {EMAIL}")
    assert [f.kind for f in found.findings] == ["email"]
    assert found.fill(["X"]) == f"password={token} and [REDACTED\ufffd] X"
    assert tokens_to_placeholders(f"mail {token}") == ("mail [REDACTED_API_KEY]", ("api_key",))
