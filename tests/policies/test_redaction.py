"""Tests for policies.redaction: what is hidden, what is kept, and that odd input never raises."""

from __future__ import annotations

import time
from typing import Any

import pytest

from safe_agent.policies.redaction import (
    Redaction,
    is_secret_key,
    is_structural_key,
    luhn_valid,
    redact_text,
    redact_value,
)

VISA = "4111111111111111"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ."
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("write to jane.doe@example.com today", id="plain"),
        pytest.param("write to j.o+tag@mail.example.co.uk today", id="plus-and-subdomains"),
        pytest.param("write to JANE_DOE99@Example.ORG today", id="upper-case"),
    ],
)
def test_redact_text_replaces_email(text: str) -> None:
    result = redact_text(text)
    assert result.text == "write to [REDACTED_EMAIL] today"
    assert result.kinds == ("email",)


@pytest.mark.parametrize(
    "phone",
    [
        pytest.param("555-123-4567", id="us-dashes"),
        pytest.param("(555) 123-4567", id="us-parentheses"),
        pytest.param("555.123.4567", id="us-dots"),
        pytest.param("555 123 4567", id="us-spaces"),
        pytest.param("1-555-123-4567", id="us-with-country-1"),
        pytest.param("+1 555 123 4567", id="intl-us"),
        pytest.param("+1 (555) 123-4567", id="intl-us-parentheses"),
        pytest.param("+44 20 7946 0958", id="intl-uk"),
        pytest.param("+33 1 23 45 67 89", id="intl-fr"),
        pytest.param("+4915112345678", id="intl-compact"),
    ],
)
def test_redact_text_replaces_phone(phone: str) -> None:
    result = redact_text(f"call me on {phone} please")
    assert result.text == "call me on [REDACTED_PHONE] please"
    assert result.kinds == ("phone",)


@pytest.mark.parametrize(
    "card",
    [
        pytest.param(VISA, id="visa-compact"),
        pytest.param("4111 1111 1111 1111", id="visa-spaces"),
        pytest.param("4111-1111-1111-1111", id="visa-dashes"),
        pytest.param("5500 0000 0000 0004", id="mastercard"),
        pytest.param("3782 822463 10005", id="amex-15-digits"),
        pytest.param("4222222222222", id="visa-13-digits"),
    ],
)
def test_redact_text_replaces_luhn_valid_card(card: str) -> None:
    result = redact_text(f"card {card} expires soon")
    assert result.text == "card [REDACTED_CARD] expires soon"
    assert result.kinds == ("card",)


def test_redact_text_keeps_luhn_invalid_16_digit_number() -> None:
    text = "tracking 1234567812345678 is on its way"
    assert not luhn_valid("1234567812345678")
    assert redact_text(text) == Redaction(text=text, kinds=())


@pytest.mark.parametrize(
    ("digits", "expected"),
    [
        pytest.param(VISA, True, id="visa"),
        pytest.param("4111 1111 1111 1111", True, id="spaces-ignored"),
        pytest.param("79927398713", True, id="textbook-example"),
        pytest.param("79927398710", False, id="textbook-wrong-check-digit"),
        pytest.param("4111111111111112", False, id="visa-off-by-one"),
        pytest.param("", False, id="empty"),
        pytest.param("0", False, id="single-digit"),
        pytest.param("4111x11111111111", False, id="letter-inside"),
        pytest.param("４１１１１１１１１１１１１１１１", False, id="fullwidth-digits"),
    ],
)
def test_luhn_valid_matches_checksum(digits: str, expected: bool) -> None:
    assert luhn_valid(digits) is expected


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        pytest.param(
            "key sk-abcdefghijklmnopqrstuvwxyz0123 end",
            "key [REDACTED_API_KEY] end",
            "api_key",
            id="openai",
        ),
        pytest.param(
            "key sk-proj-Ab3_de-FGhijklmnopqrstuvwx end",
            "key [REDACTED_API_KEY] end",
            "api_key",
            id="openai-project",
        ),
        pytest.param(
            "key AKIAIOSFODNN7EXAMPLE end", "key [REDACTED_API_KEY] end", "api_key", id="aws"
        ),
        pytest.param(
            "key ghp_abcdefghijklmnopqrstuvwxyz0123456789 end",
            "key [REDACTED_API_KEY] end",
            "api_key",
            id="github-classic",
        ),
        pytest.param(
            "key github_pat_11ABCDEFG0_abcdefghijklmnopqrstu end",
            "key [REDACTED_API_KEY] end",
            "api_key",
            id="github-fine-grained",
        ),
        pytest.param(
            "key xoxb-1234567890-abcdefghij end",
            "key [REDACTED_API_KEY] end",
            "api_key",
            id="slack-bot",
        ),
        pytest.param(
            "key xoxp-1234567890-abcdefghij end",
            "key [REDACTED_API_KEY] end",
            "api_key",
            id="slack-user",
        ),
        pytest.param(
            "Authorization: Bearer abc123DEF456ghi789",
            "Authorization: Bearer [REDACTED_SECRET]",
            "secret",
            id="bearer",
        ),
        pytest.param(f"token {JWT} end", "token [REDACTED_SECRET] end", "secret", id="jwt"),
        pytest.param(
            "password=hunter2 ok",
            "password=[REDACTED_SECRET] ok",
            "secret",
            id="password-assignment",
        ),
        pytest.param("passwd: hunter2", "passwd: [REDACTED_SECRET]", "secret", id="passwd-colon"),
        pytest.param(
            '{"password": "two words"}',
            '{"password": "[REDACTED_SECRET]"}',
            "secret",
            id="json-password-with-space",
        ),
        pytest.param(
            "secret='s3cr3t'", "secret='[REDACTED_SECRET]'", "secret", id="secret-single-quotes"
        ),
        pytest.param("TOKEN=abc", "TOKEN=[REDACTED_SECRET]", "secret", id="token-upper-case"),
        pytest.param("api_key = abc", "api_key = [REDACTED_SECRET]", "secret", id="api_key-spaced"),
        pytest.param(
            "?apikey=abc&page=2",
            "?apikey=[REDACTED_SECRET]&page=2",
            "secret",
            id="apikey-query-string",
        ),
        pytest.param("access_key: AbC", "access_key: [REDACTED_SECRET]", "secret", id="access_key"),
        pytest.param(
            "private_key=MIIEv", "private_key=[REDACTED_SECRET]", "secret", id="private_key"
        ),
        pytest.param(
            "db_password=x1", "db_password=[REDACTED_SECRET]", "secret", id="prefixed-key-name"
        ),
    ],
)
def test_redact_text_replaces_secret(text: str, expected: str, kind: str) -> None:
    result = redact_text(text)
    assert result.text == expected
    assert result.kinds == (kind,)


def test_redact_text_labels_vendor_key_inside_assignment_as_api_key_once() -> None:
    result = redact_text("api_key=sk-abcdefghijklmnopqrstuvwxyz0123")
    assert result == Redaction(text="api_key=[REDACTED_API_KEY]", kinds=("api_key",))


def test_redact_text_reports_sorted_unique_kinds() -> None:
    text = f"a@b.com c@d.org 555-123-4567 {VISA} password=x AKIAIOSFODNN7EXAMPLE"
    result = redact_text(text)
    assert result.kinds == ("api_key", "card", "email", "phone", "secret")
    assert result.text == (
        "[REDACTED_EMAIL] [REDACTED_EMAIL] [REDACTED_PHONE] [REDACTED_CARD] "
        "password=[REDACTED_SECRET] [REDACTED_API_KEY]"
    )


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Where is order 1001?", id="order-number"),
        pytest.param("Order #100234 costs $25.00", id="price"),
        pytest.param("It ships on 2026-11-22.", id="iso-date"),
        pytest.param("Delivered 11/22/2026 at 10:30", id="us-date-and-time"),
        pytest.param("Total: $1,234.56 for 3 items", id="price-with-thousands"),
        pytest.param("Server 192.168.100.200 is up", id="ip-address"),
        pytest.param("id 123e4567-e89b-12d3-a456-426614174000", id="uuid"),
        pytest.param("How do I reset my password?", id="password-question"),
        pytest.param("max_tokens=100 and input_tokens: 5", id="token-counts"),
        pytest.param("the bearer of bad news", id="bearer-prose"),
        pytest.param("task-force-management-committee-report", id="sk-inside-word"),
        pytest.param("+25.00 adjustment", id="signed-price"),
        pytest.param("room 12345 67890", id="two-short-numbers"),
    ],
)
def test_redact_text_keeps_ordinary_shop_text(text: str) -> None:
    assert redact_text(text) == Redaction(text=text, kinds=())


def test_redact_text_handles_huge_string_quickly() -> None:
    text = ("a." * 200_000) + ("1 " * 200_000) + ("x" * 200_000) + "@"
    start = time.perf_counter()
    result = redact_text(text)
    assert result.text == text
    assert time.perf_counter() - start < 5.0


def test_redact_value_returns_exact_pointers_for_nested_data() -> None:
    value = {
        "tool": "send_email",
        "args": {
            "to": "jane@example.com",
            "subject": "Order 1001",
            "cc": ["a@b.com", "ok", "555-123-4567"],
        },
        "items": [{"sku": "A-1", "note": f"paid with {VISA}"}, 42],
        "a/b": "x@y.com",
        "m~n": "x@y.com",
    }
    redacted, pointers = redact_value(value)
    assert pointers == ["/args/to", "/args/cc/0", "/args/cc/2", "/items/0/note", "/a~1b", "/m~0n"]
    assert redacted == {
        "tool": "send_email",
        "args": {
            "to": "[REDACTED_EMAIL]",
            "subject": "Order 1001",
            "cc": ["[REDACTED_EMAIL]", "ok", "[REDACTED_PHONE]"],
        },
        "items": [{"sku": "A-1", "note": "paid with [REDACTED_CARD]"}, 42],
        "a/b": "[REDACTED_EMAIL]",
        "m~n": "[REDACTED_EMAIL]",
    }


def test_redact_value_does_not_mutate_input() -> None:
    value = {"args": {"to": "jane@example.com"}, "list": ["a@b.com"]}
    redact_value(value)
    assert value == {"args": {"to": "jane@example.com"}, "list": ["a@b.com"]}


def test_redact_value_keeps_clean_data_equal_with_no_pointers() -> None:
    value = {
        "order_id": 1001,
        "price": 25.0,
        "paid": True,
        "note": None,
        "tags": ("a", "b"),
        "input_tokens": 12,
    }
    assert redact_value(value) == (value, [])


def test_redact_value_keeps_tuple_type() -> None:
    redacted, pointers = redact_value(("a@b.com", "ok"))
    assert redacted == ("[REDACTED_EMAIL]", "ok")
    assert pointers == ["/0"]


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("password", id="password"),
        pytest.param("Password", id="capitalised"),
        pytest.param("secret", id="secret"),
        pytest.param("client_secret", id="client_secret"),
        pytest.param("token", id="token"),
        pytest.param("access_token", id="access_token"),
        pytest.param("accessToken", id="camel-case"),
        pytest.param("api_key", id="api_key"),
        pytest.param("apikey", id="apikey"),
        pytest.param("X-Api-Key", id="header-style"),
        pytest.param("Authorization", id="authorization"),
        pytest.param("private_key", id="private_key"),
        pytest.param("card_number", id="card_number"),
        pytest.param("cardNumber", id="cardNumber"),
        pytest.param("cvv", id="cvv"),
    ],
)
def test_redact_value_hides_value_under_secret_key(key: str) -> None:
    redacted, pointers = redact_value(
        {"auth": {key: {"nested": "looks harmless"}}, "other": "fine"}
    )
    assert redacted == {"auth": {key: "[REDACTED_SECRET]"}, "other": "fine"}
    assert pointers == ["/auth/" + key]


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("input_tokens", id="input_tokens"),
        pytest.param("token_count", id="token_count"),
        pytest.param("order_id", id="order_id"),
        pytest.param("secretary", id="secretary"),
        pytest.param("shipping", id="shipping"),
    ],
)
def test_is_secret_key_ignores_ordinary_names(key: str) -> None:
    assert not is_secret_key(key)


def test_redact_value_leaves_empty_secret_values_alone() -> None:
    value = {"password": None, "token": ""}
    assert redact_value(value) == (value, [])


class _Exploding:
    def __str__(self) -> str:
        raise RuntimeError("boom")


class _Custom:
    def __str__(self) -> str:
        return "customer jane@example.com"


def _deep(levels: int) -> list[Any]:
    root: list[Any] = []
    node = root
    for _ in range(levels):
        child: list[Any] = []
        node.append(child)
        node = child
    return root


def _cyclic() -> dict[str, Any]:
    loop: dict[str, Any] = {"name": "loop"}
    loop["self"] = loop
    return loop


@pytest.mark.parametrize(
    ("value", "expected", "pointers"),
    [
        pytest.param(b"jane@example.com", "b'[REDACTED_EMAIL]'", [""], id="bytes"),
        pytest.param(_Custom(), "customer [REDACTED_EMAIL]", [""], id="object-with-str"),
        pytest.param(_Exploding(), "[REDACTED]", [""], id="object-whose-str-raises"),
        pytest.param({"x": _Exploding()}, {"x": "[REDACTED]"}, ["/x"], id="raising-object-in-dict"),
        pytest.param({1: "a@b.com"}, {1: "[REDACTED_EMAIL]"}, ["/1"], id="int-key"),
        pytest.param(4111111111111111, "[REDACTED_CARD]", [""], id="card-as-int"),
        pytest.param(10**5000, "[REDACTED]", [""], id="int-too-large-for-str"),
        pytest.param({"a": {1, 2}}, {"a": "{1, 2}"}, ["/a"], id="set"),
        pytest.param(_cyclic(), {"name": "loop", "self": "[REDACTED]"}, ["/self"], id="cycle"),
        pytest.param(float("inf"), float("inf"), [], id="infinity"),
    ],
)
def test_redact_value_handles_weird_input(value: Any, expected: Any, pointers: list[str]) -> None:
    assert redact_value(value) == (expected, pointers)


def test_redact_value_replaces_too_deep_nesting_instead_of_raising() -> None:
    redacted, pointers = redact_value(_deep(10_000))
    assert len(pointers) == 1
    assert pointers[0].startswith("/0/0/0")
    node = redacted
    while isinstance(node, list):
        node = node[0]
    assert node == "[REDACTED]"


def test_redact_value_handles_huge_string() -> None:
    text = "ok " * 300_000 + "jane@example.com"
    redacted, pointers = redact_value({"body": text})
    assert redacted["body"].endswith("[REDACTED_EMAIL]")
    assert pointers == ["/body"]


def test_redaction_local_seven_digit_phone_redacted() -> None:
    assert redact_text("phone 555-0100.").text == "phone [REDACTED_PHONE]."


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import safe_agent.policies.redaction as redaction_module  # noqa: E402

_ALPHABET = st.sampled_from(
    list("abcxyzSKAIEJ@.-_:=+ ()0123456789\n\"'")
    + ["sk-", "AKIA", "eyJ", "ghp_", "Bearer ", "password", "token", "@example.com"]
    + [
        "-----BEGIN ",
        "PRIVATE KEY-----",
        "DE89",
        "::",
        "8.8.",
        "2606:",
        "123-45-",
        "sa_",
        "Authorization: Basic ",
        "Ab3dE5fG7hJ9kL1m",
        "[[pii:email:1a2b3c4d]]",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, max_size=60).map("".join))
def test_redaction_fast_path_never_skips_what_the_patterns_would_catch(text: str) -> None:
    fast = redact_text(text)
    original = redaction_module._could_be_sensitive
    try:
        redaction_module._could_be_sensitive = lambda _t: True
        full = redact_text(text)
    finally:
        redaction_module._could_be_sensitive = original
    assert fast == full


# Issue 10.4: structural fields. A SHA-256 hex digest that contains a Luhn-valid 16-digit run is
# not a card; rewriting it made audit rows stop matching the decision ledger.
_DIGEST = "ab4111111111111111cd0123456789abcdef0123456789abcdef0123456789ab"


@pytest.mark.parametrize(
    "key",
    [
        "digest",
        "action_digest",
        "request_digest",
        "actionDigest",
        "idempotency_key",
        "event_id",
        "thread_id",
        "run_id",
        "tool_call_id",
        "log_id",
        "prev_hash",
    ],
)
def test_redaction_keeps_identifiers_under_structural_keys(key: str) -> None:
    value = {"outer": [{key: _DIGEST, "note": f"card {VISA}"}]}
    redacted, pointers = redact_value(value)
    assert redacted["outer"][0][key] == _DIGEST
    assert redacted["outer"][0]["note"] == "card [REDACTED_CARD]" and pointers == ["/outer/0/note"]


@pytest.mark.parametrize(
    "text", ["4111 1111 1111 1111", "mail jane@example.com", "+44 20 7946 0958"]
)
def test_redaction_still_hides_data_that_is_not_id_shaped_under_a_structural_key(text: str) -> None:
    redacted, pointers = redact_value({"digest": text})
    assert redacted["digest"] != text and pointers == ["/digest"]


def test_redaction_secret_keys_still_win_and_structural_keys_are_exact() -> None:
    assert redact_value({"token": _DIGEST})[0] == {"token": "[REDACTED_SECRET]"}
    assert not is_structural_key("digest_note") and not is_structural_key("user_id")
    assert is_structural_key("X-Request-Digest") and is_structural_key("tool_call_id")


# Issue 12.5: more kinds (SSN, IBAN, IP, private keys, random tokens, the project's own keys) and
# no collateral: hex digests, uuids, idempotency keys, provider ids, prices, dates, versions and
# vault tokens are never rewritten.
import hashlib  # noqa: E402
import uuid  # noqa: E402

from safe_agent.policies.redaction import KINDS  # noqa: E402
from safe_agent.tools.spec import idempotency_key_for  # noqa: E402

PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1b2c3d4e5f6g7h8i9j0kLmNoPqRsTuVwXyZ\n"
    "Proc-Type: 4,ENCRYPTED\nabcDEF123456+/==\n-----END RSA PRIVATE KEY-----"
)
TOKEN = "Ab3dE5fG7hJ9kL1mN3pQ5rS7tU9xY2z"


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        pytest.param("ssn 123-45-6789 ok", "ssn [REDACTED_SSN] ok", "ssn", id="ssn"),
        pytest.param("SSN: 078-05-1120.", "SSN: [REDACTED_SSN].", "ssn", id="ssn-sentence"),
        pytest.param(
            "iban DE89 3704 0044 0532 0130 00 ok",
            "iban [REDACTED_IBAN] ok",
            "iban",
            id="iban-spaced",
        ),
        pytest.param(
            "iban DE89370400440532013000.", "iban [REDACTED_IBAN].", "iban", id="iban-compact"
        ),
        pytest.param(
            "to GB82WEST12345698765432 now", "to [REDACTED_IBAN] now", "iban", id="iban-gb-letters"
        ),
        pytest.param(
            "DE89 3704 0044 0532 0130 00 OK", "[REDACTED_IBAN] OK", "iban", id="iban-then-word"
        ),
        pytest.param("from 8.8.8.8 today", "from [REDACTED_IP] today", "ip", id="ipv4"),
        pytest.param("host 203.0.113.7.", "host [REDACTED_IP].", "ip", id="ipv4-documentation"),
        pytest.param("via 2606:4700:4700::1111 ok", "via [REDACTED_IP] ok", "ip", id="ipv6"),
        pytest.param("via 2001:db8::1 ok", "via [REDACTED_IP] ok", "ip", id="ipv6-documentation"),
        pytest.param("via ::ffff:8.8.8.8 ok", "via [REDACTED_IP] ok", "ip", id="ipv4-mapped"),
        pytest.param(f"key {PEM} end", "key [REDACTED_PRIVATE_KEY] end", "private_key", id="pem"),
        pytest.param(
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA",
            "[REDACTED_PRIVATE_KEY]",
            "private_key",
            id="pem-cut-off",
        ),
        pytest.param(
            f"Authorization: Bearer {JWT}",
            "Authorization: Bearer [REDACTED_SECRET]",
            "secret",
            id="bearer-jwt",
        ),
        pytest.param(
            "Authorization: Basic dXNlcjpwYXNzd29yZA==",
            "Authorization: Basic [REDACTED_SECRET]",
            "secret",
            id="basic-auth",
        ),
        pytest.param(
            f"jwt {JWT[:120]} end",
            "jwt [REDACTED_SECRET] end",
            "secret",
            id="jwt-truncated-signature",
        ),
        pytest.param(
            "jwe eyJhbGciOiJSU0EifQ.OKOawDo13gRp.48V1_ALb6US04U3b.5eym8TW_c8S.XFBoMYU end",
            "jwe [REDACTED_SECRET] end",
            "secret",
            id="jwe-five-parts",
        ),
        pytest.param(
            f"token {TOKEN} here", "token [REDACTED_TOKEN] here", "token", id="random-token"
        ),
        pytest.param(
            f"https://x.com/reset/{TOKEN}?a=1",
            "https://x.com/reset/[REDACTED_TOKEN]?a=1",
            "token",
            id="token-in-url-path",
        ),
        pytest.param(
            "blob aB3+dE5/fG7hJ9kL1mN3pQ5rS7tU9xY2zW4v== end",
            "blob [REDACTED_TOKEN] end",
            "token",
            id="base64-with-slash",
        ),
        pytest.param(
            "key sa_0123456789ab_" + "Ab3_dE5-fG7hJ9kL1mN3pQ5rS7tU9xY2zW4vQ6tR8sX",
            "key [REDACTED_API_KEY]",
            "api_key",
            id="safe-agent-principal-key",
        ),
    ],
)
def test_redact_text_replaces_new_kinds(text: str, expected: str, kind: str) -> None:
    result = redact_text(text)
    assert result == Redaction(text=expected, kinds=(kind,))
    assert kind in KINDS


def test_redact_text_hides_most_random_urlsafe_tokens() -> None:
    import secrets

    tokens = [secrets.token_urlsafe(32) for _ in range(200)]
    missed = [t for t in tokens if t in redact_text(f"use {t} now").text]
    assert len(missed) <= 4, missed  # a heuristic: nearly all 43-character random tokens


_SHA = hashlib.sha256(b"order 1001").hexdigest()


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(_DIGEST, id="sha256-hex-with-luhn-valid-run"),
        pytest.param(f"digest {_DIGEST} in prose", id="digest-in-prose"),
        pytest.param(f"sha256 {_SHA} sha1 {hashlib.sha1(b'x').hexdigest()}", id="hex-digests"),
        pytest.param(f"id {uuid.UUID(int=0x1234567890123456789012345678901)} ok", id="uuid"),
        pytest.param(f"event {uuid.UUID(int=0x41111111111111111ABCDEF).hex}", id="uuid4-hex"),
        pytest.param(
            f"key {idempotency_key_for('t-1', 'call_2_issue_refund')}", id="idempotency-key"
        ),
        pytest.param(
            "call_J8x2Kq9LmN4pR7sT1vW3yZ5a and toolu_01A09q90qw90lq917835lq9",
            id="provider-call-ids",
        ),
        pytest.param("run-3f2a4b5c-6d7e-4f80-9123-456789abcdef", id="langchain-run-id"),
        pytest.param("price 1.25 and $1,234.56, ships 2026.11.22", id="prices-and-dotted-date"),
        pytest.param("version 1.2.3, v2.0.0.1, build 10.0.19041.1", id="version-strings"),
        pytest.param(
            "LAN 10.0.0.1, 192.168.1.1, 127.0.0.1, fe80::1 and ::1", id="private-addresses"
        ),
        pytest.param("meet at 10:30:00 on 2026-11-22T10:30:00+00:00", id="times"),
        pytest.param("order 100234567 and ORD-2024-11-22-AB12CD34EF for C-100", id="order-ids"),
        pytest.param(
            "ssn-like 000-12-3456, 666-12-3456, 912-12-3456, 123-00-4567, 123-45-0000",
            id="invalid-ssns",
        ),
        pytest.param("IBAN-like DE89 3704 0044 0532 0130 01", id="iban-bad-checksum"),
        pytest.param(
            "HelloWorldFromTheSupportDesk2024 /Users/JaneDoe/Documents2024/Report", id="words"
        ),
        pytest.param("/api/v1/orders/1001/refunds/pending?page=2", id="url-path"),
        pytest.param("gpt-4o-mini-2024-07-18 and claude-3-5-sonnet-20241022", id="model-names"),
        pytest.param(
            "test_redaction_keeps_identifiers_under_structural_keys", id="snake-case-identifier"
        ),
        pytest.param(
            "[[pii:email:1a2b3c4d]] [[pii:token:12345678]] [[pii:card:41111111]]", id="vault-tokens"
        ),
        pytest.param("password: [[pii:secret:deadbeef]]", id="vault-token-as-assigned-value"),
    ],
)
def test_redact_text_leaves_ids_digests_and_shop_data_alone(text: str) -> None:
    assert redact_text(text) == Redaction(text=text, kinds=())


def test_redaction_keeps_vault_tokens_next_to_redacted_values() -> None:
    text = "[[pii:email:1a2b3c4d]] wrote from 8.8.8.8 with ssn 123-45-6789[[pii:phone:0badcafe]]"
    assert (
        redact_text(text).text == "[[pii:email:1a2b3c4d]] wrote from [REDACTED_IP] with ssn "
        "[REDACTED_SSN][[pii:phone:0badcafe]]"
    )
    vaulted = {"token": "[[pii:token:1a2b3c4d]]"}
    assert redact_value(vaulted) == (vaulted, [])


def test_redact_text_keeps_the_kinds_a_caller_asks_for() -> None:
    text = f"to jane@example.com from 8.8.8.8: card {VISA}, ssn 123-45-6789, key {JWT}"
    result = redact_text(text, keep=("email", "ip"))
    assert result.text == (
        "to jane@example.com from 8.8.8.8: card [REDACTED_CARD], "
        "ssn [REDACTED_SSN], key [REDACTED_SECRET]"
    )
    assert result.kinds == ("card", "secret", "ssn")
    assert redact_value({"to": "a@b.com", "password": "x"}, keep=("email",)) == (
        {"to": "a@b.com", "password": "[REDACTED_SECRET]"},
        ["/password"],
    )


def test_redact_text_handles_huge_new_kind_candidates_quickly() -> None:
    text = "-----BEGIN PRIVATE KEY-----" * 20_000 + "1:2:" * 50_000 + "DE89 " * 50_000
    start = time.perf_counter()
    redact_text(text)
    assert time.perf_counter() - start < 5.0
