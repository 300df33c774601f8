"""Rule tables for the input guard: compiled once, split into clauses a fast literal search finds.

Why: CPython's `re` finds a pattern that starts with a literal about as fast as `str.find`, but
tries every branch at every position for a pattern that starts with an alternation, so forty
such rules cost milliseconds on a 10 KB text. `make_table` splits each rule at its top-level
"|" and expands leading alternatives ("(?:ignore|forget) ..." -> "ignore ...", "forget ...");
`first_match` then searches only the clauses whose first word occurs in the text, and the
remaining clauses only when one of the rule's anchors (literal substrings) occurs. The whole
compiled pattern stays the reference: `first_match(..., use_anchors=False)` uses it, and
`tests/policies/test_guard_public.py` checks both give the same answers on every labelled text.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from functools import lru_cache

InjectionTable = tuple[tuple[str, re.Pattern[str]], ...]
ANCHORS: dict[str, tuple[str, ...]] = {}
"""Rule name -> substrings, at least one of which every match of the rule's slow clauses
contains."""
CLAUSES: dict[str, tuple[tuple[re.Pattern[str], ...], tuple[re.Pattern[str], ...]]] = {}
"""Rule name -> (clauses that start with a word, other clauses), split from the rule's pattern."""
_INDEX: dict[int, tuple[dict[str, list[tuple[int, re.Pattern[str]]]], frozenset[str]]] = {}
"""id(table) -> (word stem -> [(rule position, clause)], the stems), for the literal-first
clauses."""


def _top_level(body: str, start: int = 0, stop: int | None = None) -> list[str]:
    """Split a regex at its top-level "|" (ignoring escapes, classes and nested groups)."""
    parts, depth, i, last, in_class = [], 0, start, start, False
    stop = len(body) if stop is None else stop
    while i < stop:
        ch = body[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(body[last:i])
            last = i + 1
        i += 1
    return [*parts, body[last:stop]]


def _group_end(body: str, start: int) -> int:
    """Index just past the group that opens at body[start]."""
    depth, i, in_class = 0, start, False
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError(f"unbalanced group in {body!r}")


def _literal_first(branch: str, depth: int = 0) -> list[str] | None:
    """The branch as clauses that each start with a letter, or None if it cannot be split so.

    `(?:a|b)rest` becomes "arest" and "brest" (recursively); a quantified group is not split.
    """
    if branch[:1].isalpha() or branch[:1] == "'":
        return [branch]
    if branch.startswith("\\b") and (inner := _literal_first(branch[2:], depth + 1)) is not None:
        return [_word_start(c) for c in inner]
    if depth > 3 or not branch.startswith("(?:"):
        return None
    end = _group_end(branch, 0)
    if end < len(branch) and branch[end] in "?*+{":
        return None
    out: list[str] = []
    for alt in _top_level(branch, 3, end - 1):
        expanded = _literal_first(alt + branch[end:], depth + 1)
        if expanded is None:
            return None
        out += expanded
    return out


def _word_start(clause: str) -> str:
    """`\\b` + clause, with the check after the clause's leading letters (still literal-first)."""
    n = 0
    while (
        n < len(clause)
        and clause[n].isalpha()
        and clause[n + 1 : n + 2] not in ("?", "*", "+", "{")
    ):
        n += 1
    return clause[:n] + rf"(?<!\w\w{{{n}}})" + clause[n:] if n else rf"\b{clause}"


_LEADING = re.compile(r"[a-z]*(?![?*+{])|")
_STEM = 4
_NOT_LETTER = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalpha()})


_GLUED = ("ignor", "disregard", "forget", "reveal", "bypass", "overrid")
"""Verbs also looked for inside a word, so "USAIgnore all previous instructions" is still read."""


@lru_cache(maxsize=32)
def word_stems(text: str) -> frozenset[str]:
    """The first one to four letters of every word of an ASCII text, for the clause gate."""
    words = set(text.translate(_NOT_LETTER).split())
    words |= {w[w.find(v) :] for w in words if len(w) > 5 for v in _GLUED if v in w[1:]}
    return frozenset(w[:n] for w in words for n in range(1, _STEM + 1))


def make_table(*rules: tuple[str, tuple[str, ...], str]) -> InjectionTable:
    """Compile rules; each is also split into clauses that a fast literal search can find.

    Why: CPython's `re` scans for a pattern that starts with a literal as fast as `str.find`, but
    tries every branch at every position for a pattern that starts with an alternation; split,
    a 10 KB text costs a few microseconds per clause instead of a millisecond per rule. The
    combined pattern stays the reference (`first_match(..., use_anchors=False)`).
    """
    index: dict[str, list[tuple[int, re.Pattern[str]]]] = {}
    for position, (name, anchors, body) in enumerate(rules):
        fast: list[re.Pattern[str]] = []
        slow: list[re.Pattern[str]] = []
        for branch in _top_level(body):
            clauses = _literal_first(branch)
            if clauses is None:
                slow.append(re.compile(branch))
                continue
            for clause in clauses:
                compiled = re.compile(clause)
                fast.append(compiled)
                lead = _LEADING.match(clause).group(0)[:_STEM]  # type: ignore[union-attr]
                index.setdefault(lead, []).append((position, compiled))
        ANCHORS[name] = anchors
        CLAUSES[name] = (tuple(fast), tuple(slow))
    table = tuple((name, re.compile(body)) for name, _, body in rules)
    _INDEX[id(table)] = (index, frozenset(index))
    return table


def first_match(text: str, table: InjectionTable, *, use_anchors: bool = True) -> str | None:
    """Name of the first rule in table that matches text.

    Literal-first clauses are searched directly; the other clauses only when one of the rule's
    anchors occurs. `use_anchors=False` searches each combined pattern instead: the tests use
    it to show that the split and the anchors change no answer.
    """
    if not use_anchors or id(table) not in _INDEX:  # the reference, and any table built elsewhere
        return next((name for name, pattern in table if pattern.search(text)), None)
    index, keys = _INDEX[id(table)]
    if text.isascii():  # words are delimited: only clauses whose first word occurs can match
        hits = word_stems(text) & keys | ({""} & keys)
        candidates: dict[int, list[re.Pattern[str]]] = {}
        for stem in hits:
            for position, clause in index[stem]:
                candidates.setdefault(position, []).append(clause)
    else:
        candidates = {position: list(CLAUSES[name][0]) for position, (name, _) in enumerate(table)}
    for position, (name, _) in enumerate(table):
        if any(c.search(text) for c in candidates.get(position, ())):
            return name
        slow = CLAUSES[name][1]
        if slow and any(a in text for a in ANCHORS[name]) and any(c.search(text) for c in slow):
            return name
    return None
