"""Screen user messages and tool output before the model reads them.

User input is checked in a fixed order, cheapest and least ambiguous first: NFKC normalisation
(so fullwidth or stylised letters cannot dodge the rules), empty input, invisible control and
format characters (which hide text from human reviewers), length, then direct prompt-injection
phrases. Tool output is scanned for indirect injection: instructions planted in data that the
agent fetched. Both answers are `Verdict`s; a bug inside a check denies with POLICY_ERROR.

The phrase tables are deliberately small and specific: ordinary support questions ("How do I
reset my password?", "Please ignore my previous email") must pass. Details never echo the input.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
import unicodedata

from policies.verdict import ReasonCode, Verdict, allow, deny, fail_closed

INPUT_POLICY_ID = "input"
TOOL_OUTPUT_POLICY_ID = "tool_output"

_ALLOWED_CONTROLS = frozenset("\n\r\t")
# Zero-width (non-)joiners are part of emoji sequences and of Persian and Indic writing, so they are
# allowed; they are removed before pattern matching, so they cannot hide an injected phrase either.
_JOINERS = frozenset("\u200c\u200d")
_BIDI_CONTROLS = frozenset(chr(cp) for cp in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
_MAX_REPORTED_CODEPOINTS = 5
_WHITESPACE = re.compile(r"\s+")

_DET = r"(?:(?:all|any|the|your|of|these|those|every)\s+)*"
_RULE_NOUNS = r"(?:instructions?|rules?|prompts?|directives?|guidelines?|commands?|programming)"

InjectionTable = tuple[tuple[str, re.Pattern[str]], ...]

INJECTION_PATTERNS: InjectionTable = (
    (
        "ignore_instructions",
        re.compile(
            rf"\b(?:ignore|disregard|forget|skip)\s+{_DET}"
            rf"(?:(?:previous|prior|above|earlier|preceding|initial|original|system)\s+{_RULE_NOUNS}"
            rf"|your\s+(?:system\s+)?{_RULE_NOUNS}"
            r"|everything\s+(?:above|before|you\s+(?:were|have\s+been)\s+told))\b"
        ),
    ),
    (
        "role_override",
        re.compile(
            r"\byou\s+are\s+now\s+(?:dan|an?\s+(?:unrestricted|unfiltered|uncensored)\b"
            r"|in\s+(?:developer|dev|god|jailbreak|unrestricted|debug)\s+mode|no\s+longer\s+(?:bound|restricted))"
            r"|\b(?:enable|enter|activate|switch\s+to)\s+(?:developer|dev|god|jailbreak|dan)\s+mode\b"
        ),
    ),
    (
        "reveal_prompt",
        re.compile(
            r"\b(?:reveal|print|show|display|output|repeat|leak|dump|tell)\s+(?:me\s+|us\s+)?"
            r"(?:your\s+(?:(?:full|entire|original|initial|hidden|secret|exact|system)\s+)*"
            r"(?:prompt|instructions)"
            r"|the\s+(?:(?:full|entire|original|initial|hidden|secret|exact)\s+)*system\s+"
            r"(?:prompt|message|instructions))\b"
            r"|\bwhat\s+(?:is|are)\s+your\s+system\s+(?:prompt|instructions)\b"
        ),
    ),
    (
        "unrestricted_roleplay",
        re.compile(
            r"\b(?:act|behave|respond|answer|roleplay)\s+(?:as|like)\b.{0,60}?"
            r"\b(?:without|with\s+no|free\s+(?:of|from))\s+(?:any\s+)?"
            r"(?:restrictions?|limits|limitations|filters?|rules|guidelines|censorship|ethics|guardrails?)\b"
        ),
    ),
    (
        "pretend_no_rules",
        re.compile(
            r"\b(?:pretend|imagine|assume)\s+(?:that\s+)?you\s+(?:have|had)\s+no\s+"
            r"(?:rules|restrictions|limits|limitations|guidelines|filters|guardrails|ethics|policies)\b"
            r"|\bpretend\s+(?:that\s+)?you\s+(?:are|were)\s+(?:unrestricted|unfiltered|uncensored)\b"
        ),
    ),
    (
        "new_instructions",
        re.compile(r"\b(?:new|updated|revised)\s+(?:system\s+)?instructions?\s*:"),
    ),
    (
        "role_markers",
        re.compile(
            r"<\|im_(?:start|end)\|>|<\|(?:system|assistant|endoftext)\|>|\[/?(?:system|inst)\]"
            r"|<</?sys>>|</?system(?:_prompt)?>|#{2,}\s*system\b"
        ),
    ),
    (
        "override_safety",
        re.compile(
            r"\b(?:override|bypass|circumvent)\s+(?:(?:all|any|the|your)\s+)*"
            r"(?:safety|guardrails?|safeguards?|content\s+filters?|moderation)\b"
            r"|\b(?:disable|turn\s+off|deactivate)\s+(?:(?:all|any|the|your)\s+)*"
            r"(?:guardrails?|safeguards?|content\s+filters?|safety\s+(?:filters?|rules|guidelines|protocols))\b"
        ),
    ),
    ("jailbreak", re.compile(r"\bjailbreak\b")),
)
"""Direct prompt-injection phrases, matched on lower-cased, whitespace-collapsed NFKC text."""

_EMAIL_OR_URL = r"(?:[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+|https?://\S+)"

TOOL_OUTPUT_PATTERNS: InjectionTable = (
    ("fake_assistant_turn", re.compile(r"(?:^|[\s\"'>])assistant\s*:(?:\s|$)")),
    (
        "tool_call_request",
        re.compile(r"\b(?:call|invoke|execute)\s+(?:the\s+|this\s+)?(?:[\w.-]+\s+)?(?:tool|function)\b"),
    ),
    (
        "exfiltrate",
        re.compile(
            r"\b(?:send|forward|e-?mail|upload|post|transfer)\s+(?:all|the|every|any|your|this)\b"
            rf".{{0,80}}?\bto\s+{_EMAIL_OR_URL}"
        ),
    ),
    (
        "address_the_agent",
        re.compile(
            r"\b(?:ai|llm)\s+(?:agents?|assistants?|models?)\s*[,:]\s*"
            r"(?:you\s+must|please|you\s+should|ignore|do\s+not)\b"
            r"|\b(?:note|message|instructions?)\s+(?:to|for)\s+(?:the\s+|any\s+)?(?:ai|llm|assistant|agent|model)s?\s*:"
            r"|\bif\s+you\s+are\s+an?\s+(?:ai|llm|language\s+model|ai\s+assistant|ai\s+agent)\b"
        ),
    ),
)
"""Indirect-injection phrases typical of planted tool output, checked after `INJECTION_PATTERNS`."""


def normalise(text: str) -> str:
    """Return the NFKC form, so compatibility look-alikes (fullwidth, ligatures) read as plain text.

    Args:
        text: the raw message.

    Returns:
        The NFKC-normalised text.
    """
    return unicodedata.normalize("NFKC", text)


def _fold(text: str) -> str:
    """Lower-case and collapse whitespace, so spacing and case tricks cannot dodge a pattern."""
    return _WHITESPACE.sub(" ", text.lower().replace("\u200c", "").replace("\u200d", "")).strip()


_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _forbidden_chars(text: str) -> list[str]:
    """Return the forbidden characters in text; ASCII text takes a one-regex fast path."""
    if text.isascii():
        return _ASCII_CONTROL.findall(text)
    return [char for char in text if _is_forbidden_char(char)]


def _is_forbidden_char(char: str) -> bool:
    """Say whether a character is invisible or reorders text, hiding content from reviewers."""
    if char in _ALLOWED_CONTROLS or char in _JOINERS:
        return False
    return char in _BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Cf", "Cs")


def find_injection(text: str, patterns: InjectionTable = INJECTION_PATTERNS) -> str | None:
    """Return the name of the first pattern that matches, so a caller can say which rule fired.

    Args:
        text: text to scan; it is lower-cased and whitespace-collapsed here.
        patterns: the table to apply, `INJECTION_PATTERNS` unless told.

    Returns:
        The matching pattern's name, or None.
    """
    folded = _fold(text)
    for name, pattern in patterns:
        if pattern.search(folded):
            return name
    return None


@fail_closed(INPUT_POLICY_ID)
def _judge_input(text: str, max_chars: int) -> Verdict:
    """Apply the input checks in order to normalised text; raising here denies with POLICY_ERROR."""
    if not isinstance(text, str):
        raise TypeError("input text must be a string")
    if isinstance(max_chars, bool) or not isinstance(max_chars, int):
        raise TypeError("max_chars must be an int")
    if not text.strip():
        return deny(ReasonCode.EMPTY_INPUT, "The message is empty.", "input.empty")
    bad = sorted({f"U+{ord(char):04X}" for char in _forbidden_chars(text)})
    if bad:
        return deny(
            ReasonCode.CONTROL_CHARACTERS,
            "The message contains invisible or control characters; please retype it.",
            "input.control_chars",
            codepoints=bad[:_MAX_REPORTED_CODEPOINTS],
            count=len(bad),
        )
    if len(text) > max_chars:
        return deny(
            ReasonCode.INPUT_TOO_LONG,
            f"The message is too long ({len(text)} characters; the limit is {max_chars}).",
            "input.length",
            limit=max_chars,
            observed=len(text),
        )
    name = find_injection(text)
    if name is not None:
        return deny(
            ReasonCode.PROMPT_INJECTION,
            "The message looks like an attempt to change the assistant's instructions.",
            f"input.injection.{name}",
            pattern=name,
        )
    return allow(INPUT_POLICY_ID, chars=len(text))


def check_input(*, text: str, max_chars: int) -> tuple[Verdict, str]:
    """Decide whether a user message may reach the model, and return the text the model should see.

    Order: NFKC normalisation, empty, control/format characters, length, prompt injection.
    Anything unexpected (a non-string, a broken limit) denies with POLICY_ERROR, never raises.

    Args:
        text: the raw user message.
        max_chars: the longest accepted message, counted after normalisation.

    Returns:
        The verdict and the NFKC-normalised text ("" when the input could not be normalised).
    """
    try:
        normalised = normalise(text)
    except Exception:  # noqa: BLE001 - the guarded judge below turns this into POLICY_ERROR
        return _judge_input(text, max_chars), ""
    return _judge_input(normalised, max_chars), normalised


@fail_closed(TOOL_OUTPUT_POLICY_ID)
def scan_tool_output(text: str) -> Verdict:
    """Deny tool output that carries instructions for the agent, so fetched data cannot steer it.

    Invisible format characters are dropped before matching, so "ig<ZWSP>nore" is still caught.

    Args:
        text: what the tool returned, as text.

    Returns:
        Allow, or deny with TOOL_OUTPUT_INJECTION naming the pattern that matched.
    """
    if not isinstance(text, str):
        raise TypeError("tool output must be a string")
    normal = normalise(text)
    visible = normal if not _forbidden_chars(normal) else "".join(c for c in normal if not _is_forbidden_char(c))
    for table in (INJECTION_PATTERNS, TOOL_OUTPUT_PATTERNS):
        name = find_injection(visible, table)
        if name is not None:
            return deny(
                ReasonCode.TOOL_OUTPUT_INJECTION,
                "The tool returned text that tries to instruct the assistant; it was withheld.",
                f"tool_output.injection.{name}",
                pattern=name,
            )
    return allow(TOOL_OUTPUT_POLICY_ID)
