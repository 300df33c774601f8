"""Find personal data and secrets kind by kind; rewrite each finding as the operator's policy says.

`policies.redaction_rules.DETECTORS` decides *what* is sensitive: the same patterns and checks
(Luhn, mod-97, E.164 length, entropy) that `redact_text` runs, in its order (whole blocks and
prefixed secrets first, so a key is never half-read as a phone number), so input, tool output
and final answers agree on what counts.
This module adds *what to do* with each finding (`policies.pii_config`): keep it, replace it by
its typed placeholder, refuse the message, or replace it by a stand-in token.

A token is `[[pii:<kind>:<8 hex>]]`, an HMAC of (scope, kind, value) under a per-home key: the
same value in one thread always gets the same token (so the model can refer to it and the
provenance check can trace it like any value), a token says nothing about its value, and the same
value in another thread gets another token. The vault that maps tokens back is the caller's
(`stores.vault`); nothing here stores anything.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from safe_agent.policies import redaction as r
from safe_agent.policies.pii_config import PiiAction, PiiConfig
from safe_agent.policies.redaction_rules import DETECTORS, Extract
from safe_agent.policies.verdict import ReasonCode, Verdict, allow, deny

TOKEN_PATTERN = re.compile(r"\[\[pii:(?P<kind>[a-z0-9_]{1,32}):(?P<tag>[0-9a-f]{8})\]\]")
"""A stand-in token (`redaction_rules.VAULT_TOKEN`, with its parts named); `detect` keeps tokens
as they are, so text is never tokenized twice, and `redact_text` never touches one."""

_FOUND, _KEPT = 0xF0000, 0x100000  # Unicode private-use planes 15 and 16: never word characters
_MARK_CHARS = re.compile("[\U000f0000-\U0010fffd]")
_MARK = re.compile(r"\[REDACTED([\U000f0000-\U0010fffd])\]")
"""Where a finding (plane 15) or a token already in the text (plane 16) stands while later
patterns run: it starts like a placeholder, so the secret-assignment pattern skips it exactly as
it skips an earlier placeholder in `redact_text`."""


@dataclass(frozen=True)
class Finding:
    """One sensitive value and its kind ("email", "card", "secret"...)."""

    kind: str
    value: str


_PLACEHOLDERS = {"jwt": r.SECRET_PLACEHOLDER, "bearer": r.SECRET_PLACEHOLDER}
"""Detector kinds whose placeholder is a broader kind's, as in `redact_text` (a JWT is a secret)."""


def placeholder(kind: str) -> str:
    """The typed placeholder `redact_text` writes for `kind` ("[REDACTED_EMAIL]"...)."""
    found = _PLACEHOLDERS.get(kind) or getattr(r, f"{kind.upper()}_PLACEHOLDER", None)
    return found if isinstance(found, str) else f"[REDACTED_{kind.upper()}]"


@dataclass(frozen=True)
class Detection:
    """A text with every finding (and every token already in it) replaced by a marker."""

    masked: str
    findings: tuple[Finding, ...]
    """In marker order; tokens already present are kept out (they are not findings)."""
    kept: tuple[str, ...] = ()
    """The tokens already present, restored as they were."""

    def fill(self, stand_ins: Sequence[str]) -> str:
        """Put `stand_ins[i]` where finding i was; the text around the findings is unchanged."""

        def put(match: re.Match[str]) -> str:
            code = ord(match.group(1))
            return self.kept[code - _KEPT] if code >= _KEPT else stand_ins[code - _FOUND]

        return _MARK.sub(put, self.masked)


def detect(text: str) -> Detection:
    """Find every sensitive value in `text`, in `redact_text`'s order, without deciding anything.

    A private-use character of the kind the markers use is replaced by U+FFFD first, so a text
    cannot forge a marker.
    """
    if not r._could_be_sensitive(text) and "[[pii:" not in text:
        return Detection(text, ())
    found: list[Finding] = []
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
        kept.append(match.group(0))
        return f"[REDACTED{chr(_KEPT + len(kept) - 1)}]"

    out = TOKEN_PATTERN.sub(keep, _MARK_CHARS.sub("\ufffd", text))
    for kind, pattern, extract in DETECTORS:

        def mark(match: re.Match[str], kind: str = kind, extract: Extract = extract) -> str:
            parts = extract(match)
            if parts is None:
                return match.group(0)
            found.append(Finding(kind, parts[1]))
            return f"{parts[0]}[REDACTED{chr(_FOUND + len(found) - 1)}]{parts[2]}"

        out = pattern.sub(mark, out)
    return Detection(out, tuple(found), tuple(kept))


_GROUPED = frozenset({"card", "iban", "ssn", "phone"})
_SEPARATORS = re.compile(r"[\s().-]+")


def canonical(kind: str, value: str) -> str:
    """One spelling per value: grouped codes without separators, e-mail addresses case-folded, so
    "FR76 3000 ..." and "FR763000..." (or Alice@X.com and alice@x.com) get one token, as the
    provenance check treats them as one value."""
    if kind in _GROUPED:
        return _SEPARATORS.sub("", value).upper()
    return value.casefold() if kind == "email" else value


def make_token(key: bytes, scope: str, kind: str, value: str) -> str:
    """The stand-in of `value` in `scope` (a thread): deterministic, and opaque without `key`."""
    message = json.dumps([scope, kind, canonical(kind, value)], ensure_ascii=False).encode()
    return f"[[pii:{kind}:{hmac.new(key, message, hashlib.sha256).hexdigest()[:8]}]]"


def actions_for(
    findings: Sequence[Finding], config: PiiConfig, *, tool_output: bool = False
) -> list[PiiAction]:
    """The operator's action for each finding; in tool output every kind not allowed is tokenized.

    A tool's output is the system's own data, and what looks like a secret there is often an id
    the model must pass to the next call: a token hides it from the model and the streams without
    destroying it. "redact" and "block" judge what people type.
    """
    if tool_output and not config.tool_output:
        return ["allow"] * len(findings)
    chosen = [config.action(f.kind) for f in findings]
    return ["tokenize" if tool_output and a != "allow" else a for a in chosen]


def summary(findings: Sequence[Finding], actions: Sequence[str]) -> list[dict[str, object]]:
    """What the audit records: kind, action and count of each, never a value."""
    counts = Counter(zip((f.kind for f in findings), actions, strict=True))
    return [{"kind": k, "action": a, "count": n} for (k, a), n in sorted(counts.items())]


def combined(*summaries: Sequence[Mapping[str, object]]) -> list[dict[str, object]]:
    """Several `summary` lists as one (counts of the same kind and action added up)."""
    counts: Counter[tuple[str, str]] = Counter()
    for rows in summaries:
        for row in rows:
            counts[(str(row["kind"]), str(row["action"]))] += int(row["count"])  # type: ignore[call-overload]
    return [{"kind": k, "action": a, "count": n} for (k, a), n in sorted(counts.items())]


def check_pii(findings: Sequence[Finding], actions: Sequence[str]) -> Verdict:
    """Refuse a message holding a kind the operator blocks; the detail names kinds, never values."""
    return check_summary(summary(findings, actions))


def check_summary(rows: Sequence[Mapping[str, object]]) -> Verdict:
    """`check_pii` on a summary (what an entry point recorded before the graph saw the message)."""
    blocked = sorted({str(r["kind"]) for r in rows if r["action"] == "block"})
    if not blocked:
        return allow("input.pii")
    return deny(
        ReasonCode.INPUT_PII_BLOCKED,
        f"the message holds data the input policy does not accept ({', '.join(blocked)})",
        "input.pii.block",
        kinds=blocked,
    )


def tokens_to_placeholders(text: str) -> tuple[str, tuple[str, ...]]:
    """Replace every stand-in token by its kind's placeholder, for text a person will read (an
    answer): returns the text and the sorted kinds replaced."""
    kinds: set[str] = set()

    def swap(match: re.Match[str]) -> str:
        kinds.add(match.group("kind"))
        return placeholder(match.group("kind"))

    return TOKEN_PATTERN.sub(swap, text), tuple(sorted(kinds))
