"""Decide what an identity string is: one canonical form, compared the same way everywhere.

Ids arrive from principals' records, server credentials, CLI flags and Python callers. Compared
as raw strings, `U-REQ`, `u-req` and `ｕ-ｒｅｑ` (fullwidth) would be three people, and a
requester could approve their own call under a variant of their id. Every comparison goes
through `canonical_id`: NFKC, casefold, trimmed, then a narrow character set, so two ids are
the same person exactly when their canonical forms are equal.
"""

from __future__ import annotations

import re
import unicodedata

from safe_agent.policies.verdict import Decision, ReasonCode, Verdict, deny

MAX_ID_CHARS = 128
_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9._:@+-]*")
ROLES = ("read", "write", "admin")


def canonical_id(raw: object) -> str | None:
    """Return the canonical form of an id, or None if it is not an acceptable id.

    Acceptable after NFKC + casefold + trim: 1-128 characters of a-z, 0-9 and `._:@+-`,
    starting with a letter or digit. Anything else (empty, whitespace inside, control or
    format characters, other scripts) is refused rather than guessed at.
    """
    if not isinstance(raw, str):
        return None
    text = unicodedata.normalize("NFKC", raw).casefold().strip()
    text = unicodedata.normalize("NFKC", text)  # casefold can produce non-NFKC text (e.g. U+0130)
    if not 0 < len(text) <= MAX_ID_CHARS or not _ID_PATTERN.fullmatch(text):
        return None
    return text


def check_id(raw: object, *, what: str = "user id") -> tuple[Verdict, str]:
    """Return (verdict, canonical id); a deny with `invalid_identity` names what is wrong."""
    canonical = canonical_id(raw)
    if canonical is None:
        shown = repr(raw)[:40] if isinstance(raw, str) else type(raw).__name__
        return deny(
            ReasonCode.INVALID_IDENTITY,
            f"{what} {shown} is not valid: use 1-{MAX_ID_CHARS} characters of a-z, 0-9 and ._:@+-",
            "identity.canonical",
        ), ""
    return Verdict(Decision.ALLOW, ReasonCode.OK, "", "identity.canonical"), canonical


def same_person(a: object, b: object) -> bool:
    """Say whether two ids name the same person (both valid and canonically equal)."""
    ca, cb = canonical_id(a), canonical_id(b)
    return ca is not None and ca == cb
