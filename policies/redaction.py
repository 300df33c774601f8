"""Redact personal data and secrets from text and JSON-like values before they leave the agent.

Anything the agent writes to a log, a trace, the model or the user passes through here first, so
a leaked e-mail address, card number, SSN, IBAN, public IP address, API key, JWT, private key or
random-looking token is replaced by a typed placeholder instead of being stored or shown. The
rules (`policies.redaction_rules`) are chosen to miss little and to leave ordinary shop data
(order numbers, prices, dates, versions) and the stores' own ids (hex digests, uuids, idempotency
keys) alone: card numbers must pass Luhn, IBANs mod-97, and a token must look random. A vaulted
value's stand-in (`[[pii:email:1a2b3c4d]]`) is never touched. Callers that must show some kinds
(an approver needs the recipient's e-mail) pass them as `keep`.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from safe_agent.policies import redaction_rules as rules
from safe_agent.policies.redaction_rules import (
    VAULT_TOKEN,
    is_secret_key,
    is_structural_key,
    luhn_valid,
)

__all__ = [
    "KINDS",
    "Redaction",
    "is_secret_key",
    "is_structural_key",
    "luhn_valid",
    "redact_text",
    "redact_value",
]

EMAIL_PLACEHOLDER = "[REDACTED_EMAIL]"
PHONE_PLACEHOLDER = "[REDACTED_PHONE]"
CARD_PLACEHOLDER = "[REDACTED_CARD]"
API_KEY_PLACEHOLDER = "[REDACTED_API_KEY]"
SECRET_PLACEHOLDER = "[REDACTED_SECRET]"
SSN_PLACEHOLDER = "[REDACTED_SSN]"
IBAN_PLACEHOLDER = "[REDACTED_IBAN]"
IP_PLACEHOLDER = "[REDACTED_IP]"
PRIVATE_KEY_PLACEHOLDER = "[REDACTED_PRIVATE_KEY]"
TOKEN_PLACEHOLDER = "[REDACTED_TOKEN]"
FALLBACK_PLACEHOLDER = "[REDACTED]"

KINDS = ("api_key", "card", "email", "iban", "ip", "phone", "private_key", "secret", "ssn", "token")
"""Every kind `redact_text` reports; JWTs, bearer credentials and `password=...` are "secret"."""

MAX_DEPTH = 64
"""Deepest nesting `redact_value` walks; anything deeper is replaced wholesale, never raw."""


@dataclass(frozen=True)
class Redaction:
    """The redacted text and which kinds of data were replaced in it.

    Attributes:
        text: the input with every finding replaced by its placeholder.
        kinds: sorted, unique kinds replaced (see `KINDS`); kinds the caller kept are not listed.
    """

    text: str
    kinds: tuple[str, ...]


def _sub(
    pattern: re.Pattern[str], text: str, repl: Callable[[re.Match[str]], str]
) -> tuple[str, bool]:
    """Apply a substitution and report whether it changed anything, to know the kinds found."""
    changed = False

    def wrapper(match: re.Match[str]) -> str:
        nonlocal changed
        out = repl(match)
        changed = changed or out != match.group(0)
        return out

    return pattern.sub(wrapper, text), changed


_REPORTED = {"jwt": "secret", "bearer": "secret"}
"""Detector kinds `redact_text` reports under a broader name (a JWT is a secret)."""

_PLACEHOLDERS = {kind: f"[REDACTED_{kind.upper()}]" for kind in KINDS}


def _replacer(kind: str, extract: rules.Extract) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        parts = extract(match)
        return match.group(0) if parts is None else f"{parts[0]}{_PLACEHOLDERS[kind]}{parts[2]}"

    return replace


_STEPS = tuple(
    (_REPORTED.get(kind, kind), kind, pattern, _replacer(_REPORTED.get(kind, kind), ex))
    for kind, pattern, ex in rules.DETECTORS
)

# Backward-compatible names of the patterns, for callers written before `redaction_rules`.
_VENDOR_KEYS, _JWT, _BEARER = rules.VENDOR_KEYS, rules.JWT, rules.BEARER
_ASSIGNMENT, _EMAIL, _CARD = rules.ASSIGNMENT, rules.EMAIL, rules.CARD
_PHONE_INTL, _PHONE_US, _PHONE_LOCAL = rules.PHONE_INTL, rules.PHONE_US, rules.PHONE_LOCAL

# Every pattern needs an '@', one of these marks, or at least seven digits (the shortest phone
# number): text with none of them cannot match, and skips the substitutions.
_MAYBE_SENSITIVE = re.compile(
    rf"@|sk-|akia|gh[pousr]_|github_pat_|xox[abpr]-|sa_|eyj|bearer|authorization"
    rf"|{rules.SECRET_WORDS}"
    r"|-----begin|\d\.\d{1,3}\.\d|[0-9a-f]:[0-9a-f]{0,4}:|[a-z]{2}\d\d|[a-z0-9+/_-]{24}",
    re.IGNORECASE,
)


def _could_be_sensitive(text: str) -> bool:
    return _MAYBE_SENSITIVE.search(text) is not None or sum(map(str.isdigit, text)) >= 7


def _redact_segment(text: str, keep: Collection[str], kinds: set[str]) -> str:
    """Run every step whose kind is not kept over text that holds no vault token."""
    if not _could_be_sensitive(text):
        return text
    out = text
    for kind, detector, pattern, repl in _STEPS:
        if kind in keep or detector in keep:
            continue
        out, hit = _sub(pattern, out, repl)
        if hit:
            kinds.add(kind)
    return out


def redact_text(text: str, *, keep: Collection[str] = ()) -> Redaction:
    """Replace personal data and secrets in text so it can be logged or shown safely.

    Args:
        text: any text. Vault tokens (`[[pii:kind:8 hex]]`) in it are kept as they are.
        keep: kinds (see `KINDS`) to leave in place, for a reader who must see them.

    Returns:
        The redacted text and the sorted kinds that were replaced.
    """
    kinds: set[str] = set()
    if "[[pii:" in text:
        pieces = VAULT_TOKEN.split(text)
        tokens = VAULT_TOKEN.findall(text)
        out = _redact_segment(pieces[0], keep, kinds)
        for token, piece in zip(tokens, pieces[1:], strict=True):
            out += token + _redact_segment(piece, keep, kinds)
    else:
        out = _redact_segment(text, keep, kinds)
    return Redaction(text=out, kinds=tuple(sorted(kinds)))


def _pointer_token(key: str) -> str:
    """Escape one reference token as RFC 6901 requires, so pointers stay unambiguous."""
    return key.replace("~", "~0").replace("/", "~1")


def _redact_str(value: str, pointer: str, changed: list[str], keep: Collection[str]) -> Any:
    """Redact one string leaf and record its pointer when it changed."""
    redacted = redact_text(value, keep=keep).text
    if redacted != value:
        changed.append(pointer)
        return redacted
    return value


def _walk(
    value: Any,
    pointer: str,
    changed: list[str],
    depth: int,
    path_ids: frozenset[int],
    keep: Collection[str],
) -> Any:
    """Copy one node with redactions, replacing it wholesale if it cannot be judged safely."""
    mark = len(changed)
    try:
        if value is None or isinstance(value, bool | float):
            return value
        if isinstance(value, int):
            text = str(value)  # may still be a card number: kept unless redaction finds something
            redacted = _redact_str(text, pointer, changed, keep)
            return value if redacted == text else redacted
        if isinstance(value, str):
            return _redact_str(value, pointer, changed, keep)
        if isinstance(value, dict | list | tuple):
            if depth >= MAX_DEPTH or id(value) in path_ids:
                changed.append(pointer)
                return FALLBACK_PLACEHOLDER
            inner_ids = path_ids | {id(value)}
            if isinstance(value, dict):
                return _walk_dict(value, pointer, changed, depth, inner_ids, keep)
            items = [
                _walk(item, f"{pointer}/{index}", changed, depth + 1, inner_ids, keep)
                for index, item in enumerate(value)
            ]
            return tuple(items) if isinstance(value, tuple) else items
        # Not JSON: keep only its text form, redacted like any other string.
        changed.append(pointer)
        return redact_text(str(value), keep=keep).text
    except Exception:  # noqa: BLE001 - an odd value must be hidden, never crash the caller
        del changed[mark:]  # pointers below this node are moot: the whole node is replaced
        changed.append(pointer)
        return FALLBACK_PLACEHOLDER


def _walk_dict(
    value: dict[Any, Any],
    pointer: str,
    changed: list[str],
    depth: int,
    path_ids: frozenset[int],
    keep: Collection[str],
) -> dict[Any, Any]:
    """Copy a dict: values under secret-named keys hidden, ids under structural ones kept, the rest
    redacted. A vault token under a secret-named key stays: it is already a stand-in."""
    out: dict[Any, Any] = {}
    for key, item in value.items():
        name = key if isinstance(key, str) else str(key)
        child = f"{pointer}/{_pointer_token(name)}"
        empty = item is None or (
            isinstance(item, str)
            and (item in ("", SECRET_PLACEHOLDER) or VAULT_TOKEN.fullmatch(item) is not None)
        )
        if is_secret_key(name) and not empty:
            changed.append(child)
            out[key] = SECRET_PLACEHOLDER
        elif isinstance(item, str) and is_structural_key(name) and rules.IDENTIFIER.fullmatch(item):
            out[key] = item  # an id or digest the stores match on: never rewritten
        else:
            out[key] = _walk(item, child, changed, depth + 1, path_ids, keep)
    return out


def redact_value(value: Any, *, keep: Collection[str] = ()) -> tuple[Any, list[str]]:
    """Return a redacted deep copy of JSON-like data, so tool arguments and results can be stored.

    Strings are redacted with `redact_text`; values under secret-named keys (see `is_secret_key`)
    become "[REDACTED_SECRET]" unless they are None or empty; values that are not JSON are
    converted with `str()` and redacted. Keys are kept as they are. Never raises: anything that
    cannot be handled, nested deeper than `MAX_DEPTH` or cyclic becomes "[REDACTED]".

    Args:
        value: dicts, lists, tuples, strings, numbers, booleans, None, or anything else.
        keep: kinds `redact_text` leaves in place (secret-named keys are hidden regardless).

    Returns:
        The copy, and the RFC 6901 pointers of every value that was changed ("" is the root).
    """
    changed: list[str] = []
    try:
        result = _walk(value, "", changed, 0, frozenset(), keep)
    except Exception:  # noqa: BLE001 - e.g. RecursionError on a hostile structure
        return FALLBACK_PLACEHOLDER, [""]
    return result, changed
