"""Tests for policies.redaction: what is hidden, what is kept, and that odd input never raises."""

from __future__ import annotations

import time
from typing import Any

import pytest

from policies.redaction import Redaction, is_secret_key, is_structural_key, luhn_valid, redact_text, redact_value

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
            "key sk-abcdefghijklmnopqrstuvwxyz0123 end", "key [REDACTED_API_KEY] end", "api_key", id="openai"
        ),
        pytest.param(
            "key sk-proj-Ab3_de-FGhijklmnopqrstuvwx end", "key [REDACTED_API_KEY] end", "api_key", id="openai-project"
        ),
        pytest.param("key AKIAIOSFODNN7EXAMPLE end", "key [REDACTED_API_KEY] end", "api_key", id="aws"),
        pytest.param(
            "key ghp_abcdefghijklmnopqrstuvwxyz0123456789 end", "key [REDACTED_API_KEY] end", "api_key", id="github-classic"
        ),
        pytest.param(
            "key github_pat_11ABCDEFG0_abcdefghijklmnopqrstu end",
            "key [REDACTED_API_KEY] end",
            "api_key",
            id="github-fine-grained",
        ),
        pytest.param("key xoxb-1234567890-abcdefghij end", "key [REDACTED_API_KEY] end", "api_key", id="slack-bot"),
        pytest.param("key xoxp-1234567890-abcdefghij end", "key [REDACTED_API_KEY] end", "api_key", id="slack-user"),
        pytest.param(
            "Authorization: Bearer abc123DEF456ghi789", "Authorization: Bearer [REDACTED_SECRET]", "secret", id="bearer"
        ),
        pytest.param(f"token {JWT} end", "token [REDACTED_SECRET] end", "secret", id="jwt"),
        pytest.param("password=hunter2 ok", "password=[REDACTED_SECRET] ok", "secret", id="password-assignment"),
        pytest.param("passwd: hunter2", "passwd: [REDACTED_SECRET]", "secret", id="passwd-colon"),
        pytest.param(
            '{"password": "two words"}', '{"password": "[REDACTED_SECRET]"}', "secret", id="json-password-with-space"
        ),
        pytest.param("secret='s3cr3t'", "secret='[REDACTED_SECRET]'", "secret", id="secret-single-quotes"),
        pytest.param("TOKEN=abc", "TOKEN=[REDACTED_SECRET]", "secret", id="token-upper-case"),
        pytest.param("api_key = abc", "api_key = [REDACTED_SECRET]", "secret", id="api_key-spaced"),
        pytest.param("?apikey=abc&page=2", "?apikey=[REDACTED_SECRET]&page=2", "secret", id="apikey-query-string"),
        pytest.param("access_key: AbC", "access_key: [REDACTED_SECRET]", "secret", id="access_key"),
        pytest.param("private_key=MIIEv", "private_key=[REDACTED_SECRET]", "secret", id="private_key"),
        pytest.param("db_password=x1", "db_password=[REDACTED_SECRET]", "secret", id="prefixed-key-name"),
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
        "args": {"to": "jane@example.com", "subject": "Order 1001", "cc": ["a@b.com", "ok", "555-123-4567"]},
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
    value = {"order_id": 1001, "price": 25.0, "paid": True, "note": None, "tags": ("a", "b"), "input_tokens": 12}
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
    redacted, pointers = redact_value({"auth": {key: {"nested": "looks harmless"}}, "other": "fine"})
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

import policies.redaction as redaction_module  # noqa: E402

_ALPHABET = st.sampled_from(list("abcxyzSKAIEJ@.-_:=+ ()0123456789\n\"'") + ["sk-", "AKIA", "eyJ", "ghp_", "Bearer ",
                                                                            "password", "token", "@example.com"])


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


@pytest.mark.parametrize("key", ["digest", "action_digest", "request_digest", "actionDigest", "idempotency_key",
                                 "event_id", "thread_id", "run_id", "tool_call_id", "log_id", "prev_hash"])
def test_redaction_keeps_identifiers_under_structural_keys(key: str) -> None:
    value = {"outer": [{key: _DIGEST, "note": _DIGEST}]}
    redacted, pointers = redact_value(value)
    assert redacted["outer"][0][key] == _DIGEST
    assert redacted["outer"][0]["note"] != _DIGEST and pointers == ["/outer/0/note"]  # same text elsewhere: redacted


@pytest.mark.parametrize("text", ["4111 1111 1111 1111", "mail jane@example.com", "+44 20 7946 0958"])
def test_redaction_still_hides_data_that_is_not_id_shaped_under_a_structural_key(text: str) -> None:
    redacted, pointers = redact_value({"digest": text})
    assert redacted["digest"] != text and pointers == ["/digest"]


def test_redaction_secret_keys_still_win_and_structural_keys_are_exact() -> None:
    assert redact_value({"token": _DIGEST})[0] == {"token": "[REDACTED_SECRET]"}
    assert not is_structural_key("digest_note") and not is_structural_key("user_id")
    assert is_structural_key("X-Request-Digest") and is_structural_key("tool_call_id")
