"""Where did each sink argument come from: the user, the operator's data, or untrusted content?

Indirect prompt injection works by getting a value (an address, an account, a recipient) from a
document into a write. So for every proposed call this policy traces each *sink* argument (the
tool's declared `sinks`) back to the content the model has seen in the thread:

- **user**: the value appears in a message the user wrote;
- **trusted**: it appears in output the operator declared trusted (a tool or some of its fields);
- **untrusted**: it appears only in untrusted tool output (the quote is kept for the approver);
- **unsupported**: it appears nowhere; a model can still have derived it from untrusted text
  (decoded, translated), so it counts as untrusted once any untrusted output was read, and its
  `source` lists the untrusted outputs read in the thread, newest first.

A write whose sinks are all user-supplied or trusted follows the normal tier rules; one with a
tainted sink needs approval (or is denied, per tool). Read-only calls are never held up.

Matching is on word tokens (NFKC, case-folded; e-mail addresses, dotted names and decimals stay
whole), so "5 Byron Road, Leeds" is supported by "change it to 5 byron road leeds", but
"bob@x.com" is not supported by "evil.bob@x.com". Grouped codes match however they are grouped
("FR76 3000 6000" supports "FR7630006000"). Numbers compare by value in either convention ("$25"
supports 25.0; "1,250.00" and "1.250,00" support 1250); in tool output only numeric values count,
so a house number does not support an amount.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from safe_agent.policies.verdict import (
    Decision,
    ReasonCode,
    Tier,
    Verdict,
    allow,
    deny,
    fail_closed,
)

Trust = Literal["user", "trusted", "untrusted"]
Origin = Literal["user", "trusted", "untrusted", "unsupported"]

_TOKEN = re.compile(r"\d+(?:[.,]\d+)+|[^\W_]+(?:[.@+\-/:_'][^\W_]+)*")
_ALNUM = re.compile(r"[^\W_]+")
_PLAIN_VALUE = re.compile(r"[^\W_]+(?:[\s-]+[^\W_]+)*")
"""Values made of letters and digits in groups (IBANs, phone and account numbers): they also
match when the groups are written differently ("FR76 3000 ..." and "FR763000...")."""
_CONVENTIONS = (
    (",", ".", re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")),  # 1,250.00
    (".", ",", re.compile(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?")),  # 1.250,00
)
_AMOUNT_TEXT = re.compile(r"[^\d]{0,4}?(\d+(?:[.,]\d+)*)[^\d]{0,4}")
_QUOTE_CONTEXT = 60
_SHOWN_VALUE = 200


@dataclass(frozen=True)
class Evidence:
    """One piece of content the model has seen in this thread, and how far it may be trusted."""

    trust: Trust
    source: str
    """Where it came from, for people: "user message", "search_kb (call_3)"."""
    text: str
    numbers: frozenset[Decimal] | None = None
    """For structured tool output: its numeric values (numbers, and strings that hold only an
    amount). A number inside a longer string, such as a house number, supports no numeric
    argument. None means any number in `text` counts, as in a person's message."""


@dataclass(frozen=True)
class SinkOrigin:
    """Where one sink value was found first (user, then trusted, then untrusted content)."""

    arg: str
    value: str
    origin: Origin
    source: str | None = None
    quote: str | None = None

    def to_dict(self, *, with_quote: bool = True) -> dict[str, Any]:
        """Return the JSON form; the audit leaves the quote out (it is the tool's text)."""
        out = {"arg": self.arg, "value": self.value, "origin": self.origin, "source": self.source}
        if with_quote:
            out["quote"] = self.quote
        return out


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _tokens(text: str) -> list[re.Match[str]]:
    return list(_TOKEN.finditer(_fold(text)))


def leaf_text(value: Any) -> str:
    """Return every scalar in a JSON value, one per line: the text a model reads in it."""
    return "\n".join(str(leaf) for leaf in _leaves(value))


def _numbers(token: str) -> set[Decimal]:
    """Every value a number token can mean: "1,250.00" and "1.250,00" are both 1250."""
    values = set()
    for thousands, decimal, shape in _CONVENTIONS:
        if shape.fullmatch(token):
            try:
                values.add(Decimal(token.replace(thousands, "").replace(decimal, ".")))
            except InvalidOperation:
                continue
    return values


def numeric_values(value: Any) -> frozenset[Decimal]:
    """The numbers a JSON value holds: numeric leaves and strings that are only an amount."""
    found: set[Decimal] = set()
    for leaf in _leaves(value):
        if isinstance(leaf, (int, float)):
            found.add(Decimal(str(leaf)))
        elif isinstance(leaf, str) and (amount := _AMOUNT_TEXT.fullmatch(leaf.strip())):
            found |= _numbers(amount.group(1))
    return frozenset(found)


def _quote(shown: str, span: tuple[int, int]) -> str:
    start, end = max(0, span[0] - _QUOTE_CONTEXT), min(len(shown), span[1] + _QUOTE_CONTEXT)
    return ("…" if start else "") + shown[start:end].strip() + ("…" if end < len(shown) else "")


def _find(value: Any, evidence: Evidence) -> str | None:
    """Return a quote of the evidence around where it supports `value`, or None."""
    text = evidence.text
    folded = _fold(text)
    shown = text if len(folded) == len(text) else folded  # keep quote offsets aligned
    found = list(_TOKEN.finditer(folded))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        target = Decimal(str(value))
        hits = [m for m in found if target in _numbers(m.group())]
        if evidence.numbers is not None:
            return (
                (_quote(shown, hits[0].span()) if hits else str(value))
                if target in evidence.numbers
                else None
            )
        return _quote(shown, hits[0].span()) if hits else None
    wanted = [m.group() for m in _tokens(str(value))]
    span = _sequence(wanted, found)
    if span is None and _PLAIN_VALUE.fullmatch(_fold(str(value)).strip()):
        span = _compact_run(_fold(str(value)), folded)
    return _quote(shown, span) if span else None


def _compact_run(value: str, folded: str) -> tuple[int, int] | None:
    """Find consecutive letter-digit groups of the text that spell `value` without separators."""
    target = "".join(_ALNUM.findall(value))
    groups = list(_ALNUM.finditer(folded))
    for first, group in enumerate(groups):
        if not target.startswith(group.group()):
            continue
        spelled, last = "", first
        while last < len(groups) and len(spelled) < len(target):
            spelled += groups[last].group()
            last += 1
        if spelled == target:
            return group.start(), groups[last - 1].end()
    return None


def _sequence(wanted: list[str], found: list[re.Match[str]]) -> tuple[int, int] | None:
    """Find `wanted` as a contiguous run of tokens; return its character span in the text."""
    if not wanted:
        return None
    words = [m.group() for m in found]
    joined, needle = "\x00" + "\x00".join(words) + "\x00", "\x00" + "\x00".join(wanted) + "\x00"
    at = joined.find(needle)
    if at < 0:
        return None
    first = joined.count("\x00", 0, at + 1) - 1
    return found[first].start(), found[first + len(wanted) - 1].end()


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _leaves(item)
    elif value is not None and not isinstance(value, bool) and str(value).strip():
        yield value


def trace_sinks(
    *,
    args: Mapping[str, Any],
    sinks: Sequence[str],
    evidence: Sequence[Evidence],
) -> list[SinkOrigin]:
    """Trace every value of every sink argument; the weakest value decides for its argument."""
    order: tuple[Trust, ...] = ("user", "trusted", "untrusted")
    rank = {"user": 0, "trusted": 1, "untrusted": 2, "unsupported": 3}
    read = list(dict.fromkeys(e.source for e in reversed(evidence) if e.trust == "untrusted"))
    nowhere = ", ".join(read) or None  # a value found nowhere: what it may have been derived from
    traced = []
    for arg in sinks:
        worst: SinkOrigin | None = None
        for leaf in _leaves(args.get(arg)):
            origin = SinkOrigin(arg, str(leaf)[:_SHOWN_VALUE], "unsupported", nowhere)
            for trust in order:
                hit = next(
                    ((e, q) for e in evidence if e.trust == trust for q in [_find(leaf, e)] if q),
                    None,
                )
                if hit:
                    origin = SinkOrigin(arg, str(leaf)[:_SHOWN_VALUE], trust, hit[0].source, hit[1])
                    break
            if worst is None or rank[origin.origin] > rank[worst.origin]:
                worst = origin
        if worst is not None:
            traced.append(worst)
    return traced


def is_tainted(origin: SinkOrigin, untrusted_seen: bool) -> bool:
    """An untrusted value is tainted; so is an unsupported one once untrusted content was read."""
    return origin.origin == "untrusted" or (origin.origin == "unsupported" and untrusted_seen)


@fail_closed("provenance")
def check_provenance(
    *,
    tool_name: str,
    tier: Tier,
    origins: Sequence[SinkOrigin],
    untrusted_seen: bool,
    on_untrusted: Literal["approve", "deny"],
) -> Verdict:
    """Decide if a call's sink values may steer it without a person seeing where they came from.

    Returns allow; ask_approval (data: the provenance of every sink) when a tainted sink may be
    approved; deny when the tool's policy says tainted sinks are refused.
    """
    if tier is Tier.READ_ONLY:
        return allow("provenance.read_only")
    tainted = [o for o in origins if is_tainted(o, untrusted_seen)]
    if not tainted:
        return allow("provenance.supported")
    names = ", ".join(o.arg for o in tainted)
    detail = f"{tool_name}: {names} comes only from untrusted content, not from the user"
    shown = [o.to_dict() for o in origins]
    if on_untrusted == "deny":
        return deny(ReasonCode.UNTRUSTED_SINK, detail, "provenance.deny", provenance=shown)
    return Verdict(
        Decision.ASK_APPROVAL,
        ReasonCode.UNTRUSTED_SINK,
        detail,
        "provenance.approve",
        {"provenance": shown},
    )
