"""The detectors behind `policies.redaction`: one pattern and, where a pattern alone would misfire,
one check per kind of personal data or secret.

Kept apart from the walking code so each rule can say in one place what it catches and, just as
important, what it must leave alone: hex digests, uuids, idempotency keys and the stores' ids are
matched on by the audit and execution ledgers, and a rewritten one breaks that match; prices,
dates, version strings and order numbers are what the desk talks about all day.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from safe_agent.policies.redaction_checks import (
    card_is_hex_id,
    iban_prefix,
    ip_is_public,
    is_high_entropy,
    luhn_valid,
)

# A vaulted value stands for the real one (`[[pii:email:1a2b3c4d]]`): redacting it again would
# lose the link to the vault, so text is split around these tokens and only the rest is scanned.
VAULT_TOKEN = re.compile(r"\[\[pii:[a-z0-9_]{1,32}:[0-9a-f]{8}\]\]")

# Vendor keys with a recognisable prefix. Each starts at a word boundary so that words such as
# "task-force" never look like an OpenAI key. `sa_` is this project's own principal key.
VENDOR_KEYS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}"),  # OpenAI
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"),  # GitHub classic tokens
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"),  # GitHub fine-grained tokens
    re.compile(r"\bxox[abpr]-[A-Za-z0-9-]{10,}"),  # Slack
    re.compile(r"\bsa_[0-9a-f]{12}_[A-Za-z0-9_-]{43}"),  # safe-agent principal keys
)

# A signed JWT (three parts, header and payload both JSON so both start "eyJ") or an encrypted
# JWE (five parts, the second may be empty).
JWT = re.compile(
    r"\beyJ[A-Za-z0-9_-]{4,}\."
    r"(?:eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*|[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+){3})"
)

# The token must contain a digit, so prose such as "the bearer instrument" is left alone.
BEARER = re.compile(
    r"\b(?P<scheme>[Bb]earer|BEARER)\s+(?=[A-Za-z0-9._~+/-]*\d)[A-Za-z0-9._~+/-]{8,}=*"
)

# `Authorization: Basic dXNlcjpwYXNz`: the header names the credential, whatever scheme follows.
AUTH_HEADER = re.compile(
    r"(?P<head>\bauthorization\s*[:=]\s*(?P<scheme>basic|digest|token)\s+)[A-Za-z0-9._~+/-]{6,}=*",
    re.IGNORECASE,
)

SECRET_WORDS = r"password|passwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key"

# `password=...`, `"api_key": "..."`, `db_password: ...`: keep the name, hide the value. The
# lookbehind anchors the key at the start of its word so a long run is scanned only once.
ASSIGNMENT = re.compile(
    rf"(?<![\w.-])(?P<key>[\w.-]*?(?:{SECRET_WORDS}))(?P<sep>[\"']?\s*[:=]\s*)"
    r"(?!\[REDACTED)"
    r"(?:(?P<q>[\"'])(?P<qv>[^\"'\n]*)(?P=q)|(?P<v>[^\s\"',;&}\]]+))",
    re.IGNORECASE,
)

# A whole PEM private key, from its BEGIN line to its END line (RSA, EC, OPENSSH, ENCRYPTED,
# PGP ... BLOCK). The body may not contain "-----", so the scan stays linear and a block that was
# cut off (no END line) is still hidden up to where its base64 stops.
PRIVATE_KEY = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
    r"(?:[A-Za-z0-9+/=\s:,.\\]|-(?!----))*"
    r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)?"
)

# Anchored at the start of the local part (lookbehind) so the scan stays linear on long input.
EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}\b")

# 13-19 digits with optional single space or dash separators, not part of a longer number and
# not after "+" (that is an international phone number). See `card_is_hex_id` for digests.
CARD = re.compile(r"(?<![\d+-])\d(?:[ -]?\d){12,18}(?![\d])")

# International numbers: "+", country code, then two to five groups; digit count checked after.
PHONE_INTL = re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .-]?(?:\(\d{1,4}\)|\d{1,4})){2,5}(?!\d)")

# US numbers need separators (555-123-4567, (555) 123-4567, 555.123.4567, 1-555-123-4567), so
# plain order numbers, prices and ISO dates never match.
PHONE_US = re.compile(
    r"(?<![\w+./-])(?:1[ .-])?(?:\(\d{3}\)[ ]?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\d]|[.-]\d)"
)

# Seven-digit local numbers with a dash (555-0100): digits-dash-digits of exactly this shape are
# not order numbers, prices or ISO dates.
PHONE_LOCAL = re.compile(r"(?<![\w+./$-])\d{3}-\d{4}(?![\d]|[.-]\d)")

# US social security numbers in their written form: area 001-899 but not 666, group 01-99,
# serial 0001-9999 (the SSA never issues the others). Nine bare digits are an order number.
SSN = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])")

# Country code, check digits, then 11 to 30 letters and digits, compact or in groups of four.
# Upper case only and never inside a longer id, so lower-case hex ids cannot match.
IBAN = re.compile(r"(?<![\w-])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![\w-])")

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
# Four octets without leading zeros, not part of a dotted number (a version 1.2.3.4.5, a date).
IPV4 = re.compile(rf"(?<![\w.-]){_OCTET}(?:\.{_OCTET}){{3}}(?![\w-]|\.\d)")
# Candidate IPv6 (groups of hex and colons, maybe a trailing IPv4); `ipaddress` has the last word.
IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?(?![\w:])"
)
# Runs of base64 / base64url / base62 characters long enough to be a credential.
TOKEN = re.compile(r"(?<![A-Za-z0-9+/_=@-])[A-Za-z0-9+/_-]{24,}={0,2}(?![A-Za-z0-9+/_=@-]|\.\w)")
_PATH_PART = re.compile(r"[a-z]{2,}[a-z0-9_-]*|\d+|v\d+")

Extract = Callable[[re.Match[str]], "tuple[str, str, str] | None"]
"""A match -> (kept prefix, sensitive value, kept suffix), or None when it is no finding."""


def _whole(match: re.Match[str]) -> tuple[str, str, str] | None:
    return "", match.group(0), ""


def _bearer(match: re.Match[str]) -> tuple[str, str, str] | None:
    whole = match.group(0)
    value = whole[match.end("scheme") - match.start() :].lstrip()
    return whole[: len(whole) - len(value)], value, ""


def _auth_header(match: re.Match[str]) -> tuple[str, str, str] | None:
    return match.group("head"), match.group(0)[len(match.group("head")) :], ""


def _assignment(match: re.Match[str]) -> tuple[str, str, str] | None:
    """Keep the key and separator of a secret assignment so the text stays readable."""
    quote = match.group("q") or ""
    value = match.group("qv") if quote else match.group("v")
    if not value:
        return None
    return f"{match.group('key')}{match.group('sep')}{quote}", value, quote


def _card(match: re.Match[str]) -> tuple[str, str, str] | None:
    """A Luhn-valid digit run, unless it is part of a hex digest or id (see card_is_hex_id)."""
    if not luhn_valid(match.group(0)) or card_is_hex_id(match.string, match.start(), match.end()):
        return None
    return "", match.group(0), ""


def _e164(match: re.Match[str]) -> tuple[str, str, str] | None:
    """An international number only when its digit count fits E.164 (8 to 15 digits)."""
    digits = sum(char.isdigit() for char in match.group(0))
    return ("", match.group(0), "") if 8 <= digits <= 15 else None


def _iban(match: re.Match[str]) -> tuple[str, str, str] | None:
    """The part of a match that passes mod-97; a word after it stays."""
    end = iban_prefix(match.group(0))
    return ("", match.group(0)[:end], match.group(0)[end:]) if end else None


def _public_ip(match: re.Match[str]) -> tuple[str, str, str] | None:
    public = ip_is_public(match.group(0), match.string, match.start())
    return ("", match.group(0), "") if public else None


def _token(match: re.Match[str]) -> tuple[str, str, str] | None:
    """A random-looking run, or only its random parts when it is a URL path.

    A path such as `com/reset/<token>` keeps its words and loses the token; a base64 blob, whose
    `/` are part of it, goes whole.
    """
    text = match.group(0)
    parts = text.split("/")
    if len(parts) == 1 or not (text.startswith("/") or any(_PATH_PART.fullmatch(p) for p in parts)):
        return ("", text, "") if is_high_entropy(text) else None
    hits = [i for i, part in enumerate(parts) if is_high_entropy(part)]
    if not hits:
        return None
    first, last = hits[0], hits[-1]
    prefix = "".join(f"{part}/" for part in parts[:first])
    suffix = "".join(f"/{part}" for part in parts[last + 1 :])
    return prefix, "/".join(parts[first : last + 1]), suffix


DETECTORS: tuple[tuple[str, re.Pattern[str], Extract], ...] = (
    ("private_key", PRIVATE_KEY, _whole),
    *(("api_key", pattern, _whole) for pattern in VENDOR_KEYS),
    ("jwt", JWT, _whole),
    ("bearer", BEARER, _bearer),
    ("secret", AUTH_HEADER, _auth_header),
    ("secret", ASSIGNMENT, _assignment),
    ("email", EMAIL, _whole),
    ("iban", IBAN, _iban),
    ("ssn", SSN, _whole),
    ("card", CARD, _card),
    ("ip", IPV6, _public_ip),  # first, so "::ffff:8.8.8.8" goes whole
    ("ip", IPV4, _public_ip),
    ("phone", PHONE_INTL, _e164),
    ("phone", PHONE_US, _whole),
    ("phone", PHONE_LOCAL, _whole),
    ("token", TOKEN, _token),
)
"""Every rule in the order it must run: whole blocks and prefixed secrets first, so a key is never
half-read as a phone or card number; IBANs before cards (their digits look like one); random-
looking tokens last, once every recognisable kind has been found. `policies.pii` runs the same
table, so input, tool output and answers agree on what counts."""


# Dict keys whose value is a secret whatever it looks like. Matched on a normalised key
# (camelCase and dashes become snake_case) and only as the key's last word, so "input_tokens"
# or "token_count" are not hidden while "access_token" and "x-api-key" are.
_SECRET_KEY = re.compile(
    r"(?:^|_)(?:password|passwd|pwd|passphrase|secret|secret_key|client_secret|token|"
    r"api_key|apikey|authorization|private_key|privatekey|access_key|credentials?|"
    r"cookie|set_cookie|card_number|cardnumber|card_no|cvv|cvc|pin|ssn)$"
)
# Keys of identifiers the stores match on (ids, `*digest`, `*_hash`, idempotency keys): an
# id-shaped value under one is kept verbatim, since a Luhn-valid digit run inside a hex digest is
# no card (see is_structural_key).
_STRUCTURAL_KEY = re.compile(
    r"^(?:event_id|run_id|thread_id|tool_call_id|interrupt_id|log_id|key_id|idempotency_key"
    r"|digest|hash)$|_(?:digest|hash)$"
)
IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_KEY_SEPARATORS = re.compile(r"[\s.-]+")


def _snake(name: str) -> str:
    return _KEY_SEPARATORS.sub("_", _CAMEL_BOUNDARY.sub("_", name)).lower()


def is_secret_key(name: str) -> bool:
    """Say whether a dict key names a secret, so its value is hidden whatever it looks like.

    Args:
        name: the key, in any case or style ("apiKey", "X-Api-Key", "db_password").

    Returns:
        True when the key's last word is a known secret name.
    """
    return bool(_SECRET_KEY.search(_snake(name)))


def is_structural_key(name: str) -> bool:
    """Say whether a dict key names an id, digest (`digest`, `action_digest`, any `*_digest` or
    `*_hash`) or idempotency key; a value of letters, digits and `_.:-` only (no spaces, `@` or
    `+`) under one is never rewritten."""
    return bool(_STRUCTURAL_KEY.search(_snake(name)))
