"""Redact personal data and secrets from text and JSON-like values before they leave the agent.

Anything the agent writes to a log, a trace, the model or the user passes through here first, so
a leaked e-mail address, card number or API key is replaced by a typed placeholder instead of
being stored or shown. The rules are regular expressions chosen to miss little and to leave
ordinary shop data (order numbers, prices, dates) alone; card numbers are only redacted when
they pass the Luhn check, so long order or tracking numbers survive.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

EMAIL_PLACEHOLDER = "[REDACTED_EMAIL]"
PHONE_PLACEHOLDER = "[REDACTED_PHONE]"
CARD_PLACEHOLDER = "[REDACTED_CARD]"
API_KEY_PLACEHOLDER = "[REDACTED_API_KEY]"
SECRET_PLACEHOLDER = "[REDACTED_SECRET]"
FALLBACK_PLACEHOLDER = "[REDACTED]"

MAX_DEPTH = 64
"""Deepest nesting `redact_value` walks; anything deeper is replaced wholesale, never returned raw."""


@dataclass(frozen=True)
class Redaction:
    """The redacted text and which kinds of data were found in it.

    Attributes:
        text: the input with every finding replaced by its placeholder.
        kinds: sorted, unique kinds found ("api_key", "card", "email", "phone", "secret").
    """

    text: str
    kinds: tuple[str, ...]


# Vendor keys with a recognisable prefix. Each starts at a word boundary so that words such as
# "task-force" never look like an OpenAI key.
_VENDOR_KEYS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}"),  # OpenAI
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"),  # GitHub classic tokens
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"),  # GitHub fine-grained tokens
    re.compile(r"\bxox[abpr]-[A-Za-z0-9-]{10,}"),  # Slack
)

_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")

# The token must contain a digit, so prose such as "the bearer instrument" is left alone.
_BEARER = re.compile(r"\b(?P<scheme>[Bb]earer|BEARER)\s+(?=[A-Za-z0-9._~+/-]*\d)[A-Za-z0-9._~+/-]{8,}=*")

_SECRET_WORDS = r"password|passwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key"

# `password=...`, `"api_key": "..."`, `db_password: ...`: keep the name, hide the value. The
# lookbehind anchors the key at the start of its word so a long run is scanned only once.
_ASSIGNMENT = re.compile(
    rf"(?<![\w.-])(?P<key>[\w.-]*?(?:{_SECRET_WORDS}))(?P<sep>[\"']?\s*[:=]\s*)"
    r"(?!\[REDACTED)"
    r"(?:(?P<q>[\"'])(?P<qv>[^\"'\n]*)(?P=q)|(?P<v>[^\s\"',;&}\]]+))",
    re.IGNORECASE,
)

# Anchored at the start of the local part (lookbehind) so the scan stays linear on long input.
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}\b")

# 13-19 digits with optional single space or dash separators, not part of a longer number and
# not after "+" (that is an international phone number).
_CARD = re.compile(r"(?<![\d+-])\d(?:[ -]?\d){12,18}(?![\d])")

# International numbers: "+", country code, then two to five groups; digit count checked after.
_PHONE_INTL = re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .-]?(?:\(\d{1,4}\)|\d{1,4})){2,5}(?!\d)")

# US numbers need separators (555-123-4567, (555) 123-4567, 555.123.4567, 1-555-123-4567), so
# plain order numbers, prices and ISO dates never match.
_PHONE_US = re.compile(r"(?<![\w+./-])(?:1[ .-])?(?:\(\d{3}\)[ ]?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\d]|[.-]\d)")

# Seven-digit local numbers with a dash (555-0100): digits-dash-digits of exactly this shape are
# not order numbers, prices or ISO dates.
_PHONE_LOCAL = re.compile(r"(?<![\w+./$-])\d{3}-\d{4}(?![\d]|[.-]\d)")

# Dict keys whose value is a secret whatever it looks like. Matched on a normalised key
# (camelCase and dashes become snake_case) and only as the key's last word, so "input_tokens"
# or "token_count" are not hidden while "access_token" and "x-api-key" are.
_SECRET_KEY = re.compile(
    r"(?:^|_)(?:password|passwd|pwd|passphrase|secret|secret_key|client_secret|token|"
    r"api_key|apikey|authorization|private_key|privatekey|access_key|credentials?|"
    r"cookie|set_cookie|card_number|cardnumber|card_no|cvv|cvc|pin|ssn)$"
)
# Keys of identifiers the stores match on (ids, `*digest`, `*_hash`, idempotency keys): an id-shaped value under
# one is kept verbatim, since a Luhn-valid digit run inside a hex digest is no card (see is_structural_key).
_STRUCTURAL_KEY = re.compile(r"^(?:event_id|run_id|thread_id|tool_call_id|interrupt_id|log_id|key_id|idempotency_key|digest|hash)$|_(?:digest|hash)$")
_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_KEY_SEPARATORS = re.compile(r"[\s.-]+")


def luhn_valid(digits: str) -> bool:
    """Say whether a digit string passes the Luhn checksum, so random long numbers are not cards.

    Args:
        digits: the number; spaces and dashes are ignored, any other non-digit makes it invalid.

    Returns:
        True when the string holds at least two digits and the Luhn sum is a multiple of ten.
    """
    cleaned = digits.replace(" ", "").replace("-", "")
    if len(cleaned) < 2 or not cleaned.isascii() or not cleaned.isdigit():
        return False
    doubled = (int(c) * (2 if i % 2 else 1) for i, c in enumerate(reversed(cleaned)))
    return sum(d - 9 if d > 9 else d for d in doubled) % 10 == 0


def _sub(pattern: re.Pattern[str], text: str, repl: Callable[[re.Match[str]], str]) -> tuple[str, bool]:
    """Apply a substitution and report whether it changed anything, to know which kinds were found."""
    changed = False

    def wrapper(match: re.Match[str]) -> str:
        nonlocal changed
        out = repl(match)
        changed = changed or out != match.group(0)
        return out

    return pattern.sub(wrapper, text), changed


def _replace_assignment(match: re.Match[str]) -> str:
    """Keep the key and separator of a secret assignment so the text stays readable."""
    quote = match.group("q") or ""
    value = match.group("qv") if quote else match.group("v")
    if not value:
        return match.group(0)
    return f"{match.group('key')}{match.group('sep')}{quote}{SECRET_PLACEHOLDER}{quote}"


def _replace_card(match: re.Match[str]) -> str:
    """Redact a digit run only when it is Luhn-valid, so order and tracking numbers survive."""
    return CARD_PLACEHOLDER if luhn_valid(match.group(0)) else match.group(0)


def _replace_intl_phone(match: re.Match[str]) -> str:
    """Redact an international number only when its digit count fits E.164 (8 to 15 digits)."""
    count = sum(char.isdigit() for char in match.group(0))
    return PHONE_PLACEHOLDER if 8 <= count <= 15 else match.group(0)


# Every pattern below needs an '@', one of these words, or at least seven digits (the shortest
# phone number): text with none of them cannot match, and skips the fifteen substitutions.
_MAYBE_SENSITIVE = re.compile(rf"@|sk-|akia|gh[pousr]_|github_pat_|xox[abpr]-|eyj|bearer|{_SECRET_WORDS}", re.I)


def _could_be_sensitive(text: str) -> bool:
    return _MAYBE_SENSITIVE.search(text) is not None or sum(map(str.isdigit, text)) >= 7


def redact_text(text: str) -> Redaction:
    """Replace personal data and secrets in text so it can be logged or shown safely.

    Secrets go first so a key is never half-matched as a phone or card number; then e-mails,
    cards and phone numbers.

    Args:
        text: any text.

    Returns:
        The redacted text and the sorted kinds that were found.
    """
    if not _could_be_sensitive(text):
        return Redaction(text=text, kinds=())
    kinds: set[str] = set()
    out = text
    for pattern in _VENDOR_KEYS:
        out, hit = _sub(pattern, out, lambda _m: API_KEY_PLACEHOLDER)
        if hit:
            kinds.add("api_key")
    steps: tuple[tuple[str, re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
        ("secret", _JWT, lambda _m: SECRET_PLACEHOLDER),
        ("secret", _BEARER, lambda m: f"{m.group('scheme')} {SECRET_PLACEHOLDER}"),
        ("secret", _ASSIGNMENT, _replace_assignment),
        ("email", _EMAIL, lambda _m: EMAIL_PLACEHOLDER),
        ("card", _CARD, _replace_card),
        ("phone", _PHONE_INTL, _replace_intl_phone),
        ("phone", _PHONE_US, lambda _m: PHONE_PLACEHOLDER),
        ("phone", _PHONE_LOCAL, lambda _m: PHONE_PLACEHOLDER),
    )
    for kind, pattern, repl in steps:
        out, hit = _sub(pattern, out, repl)
        if hit:
            kinds.add(kind)
    return Redaction(text=out, kinds=tuple(sorted(kinds)))


def is_secret_key(name: str) -> bool:
    """Say whether a dict key names a secret, so its value is hidden whatever it looks like.

    Args:
        name: the key, in any case or style ("apiKey", "X-Api-Key", "db_password").

    Returns:
        True when the key's last word is a known secret name.
    """
    snake = _KEY_SEPARATORS.sub("_", _CAMEL_BOUNDARY.sub("_", name)).lower()
    return bool(_SECRET_KEY.search(snake))


def is_structural_key(name: str) -> bool:
    """Say whether a dict key names an id, digest (`digest`, `action_digest`, any `*_digest`/`*_hash`) or idempotency
    key; a value of letters, digits and `_.:-` only (no spaces, `@` or `+`) under one is never rewritten."""
    return bool(_STRUCTURAL_KEY.search(_KEY_SEPARATORS.sub("_", _CAMEL_BOUNDARY.sub("_", name)).lower()))


def _pointer_token(key: str) -> str:
    """Escape one reference token as RFC 6901 requires, so pointers stay unambiguous."""
    return key.replace("~", "~0").replace("/", "~1")


def _redact_str(value: str, pointer: str, changed: list[str]) -> Any:
    """Redact one string leaf and record its pointer when it changed."""
    redacted = redact_text(value).text
    if redacted != value:
        changed.append(pointer)
        return redacted
    return value


def _walk(value: Any, pointer: str, changed: list[str], depth: int, path_ids: frozenset[int]) -> Any:
    """Copy one node with redactions, replacing it wholesale if it cannot be judged safely."""
    mark = len(changed)
    try:
        if value is None or isinstance(value, bool | float):
            return value
        if isinstance(value, int):
            text = str(value)  # an integer may still be a card number; keep it unless redaction finds something
            return value if (redacted := _redact_str(text, pointer, changed)) == text else redacted
        if isinstance(value, str):
            return _redact_str(value, pointer, changed)
        if isinstance(value, dict | list | tuple):
            if depth >= MAX_DEPTH or id(value) in path_ids:
                changed.append(pointer)
                return FALLBACK_PLACEHOLDER
            inner_ids = path_ids | {id(value)}
            if isinstance(value, dict):
                return _walk_dict(value, pointer, changed, depth, inner_ids)
            items = [
                _walk(item, f"{pointer}/{index}", changed, depth + 1, inner_ids)
                for index, item in enumerate(value)
            ]
            return tuple(items) if isinstance(value, tuple) else items
        # Not JSON: keep only its text form, redacted like any other string.
        changed.append(pointer)
        return redact_text(str(value)).text
    except Exception:  # noqa: BLE001 - an odd value must be hidden, never crash the caller
        del changed[mark:]  # pointers below this node are moot: the whole node is replaced
        changed.append(pointer)
        return FALLBACK_PLACEHOLDER


def _walk_dict(value: dict[Any, Any], pointer: str, changed: list[str], depth: int, path_ids: frozenset[int]) -> dict[Any, Any]:
    """Copy a dict, hiding values under secret-named keys, keeping identifiers under structural ones, redacting the rest."""
    out: dict[Any, Any] = {}
    for key, item in value.items():
        name = key if isinstance(key, str) else str(key)
        child = f"{pointer}/{_pointer_token(name)}"
        empty = item is None or (isinstance(item, str) and item in ("", SECRET_PLACEHOLDER))
        if is_secret_key(name) and not empty:
            changed.append(child)
            out[key] = SECRET_PLACEHOLDER
        elif isinstance(item, str) and is_structural_key(name) and _IDENTIFIER.fullmatch(item):
            out[key] = item  # an id or digest the stores match on: never rewritten (see _STRUCTURAL_KEY)
        else:
            out[key] = _walk(item, child, changed, depth + 1, path_ids)
    return out


def redact_value(value: Any) -> tuple[Any, list[str]]:
    """Return a redacted deep copy of JSON-like data, so tool arguments and results can be stored.

    Strings are redacted with `redact_text`; values under secret-named keys (see `is_secret_key`)
    become "[REDACTED_SECRET]" unless they are None or empty; values that are not JSON are
    converted with `str()` and redacted. Keys are kept as they are. Never raises: anything that
    cannot be handled, nested deeper than `MAX_DEPTH` or cyclic becomes "[REDACTED]".

    Args:
        value: dicts, lists, tuples, strings, numbers, booleans, None, or anything else.

    Returns:
        The copy, and the RFC 6901 pointers of every value that was changed ("" is the root).
    """
    changed: list[str] = []
    try:
        result = _walk(value, "", changed, 0, frozenset())
    except Exception:  # noqa: BLE001 - e.g. RecursionError on a hostile structure
        return FALLBACK_PLACEHOLDER, [""]
    return result, changed
