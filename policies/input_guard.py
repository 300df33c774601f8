"""Screen user messages and tool output before the model reads them.

User input is checked in a fixed order, cheapest and least ambiguous first: NFKC normalisation
(so fullwidth or stylised letters cannot dodge the rules), empty input, invisible control and
format characters (which hide text from human reviewers), length, then prompt injection. Tool
output is scanned for indirect injection: instructions planted in data that the agent fetched.
Both answers are `Verdict`s; a bug inside a check denies with POLICY_ERROR.

Injection is looked for in several views of the text (`policies.injection_text`): folded,
look-alike letters mapped to Latin, digits read as letters, letters only, ROT13, and base64 or
hex payloads decoded once. The rules (`policies.injection_patterns`, `multilingual_patterns`,
`tool_output_patterns`) were measured on public attack collections and on customer messages that
use attackers' words ("ignore my previous email"): see docs/input_guard.md for what they catch
and what they miss. An operator who needs more can pass a second-layer `InjectionDetector` (a
classifier of their choosing); it is off by default and only sees text the rules let through.

Details never echo the input. Pure: no I/O, no clock (a detector is the caller's object).
"""

from __future__ import annotations

import math
import re
from typing import Protocol, runtime_checkable

from safe_agent.policies.injection_patterns import INJECTION_PATTERNS
from safe_agent.policies.injection_text import (
    decoded_payloads,
    fold,
    forbidden_chars,
    latin,
    leet,
    nfkc,
    rot13,
    squashed,
    strip_invisible,
    unsplit,
)
from safe_agent.policies.multilingual_patterns import (
    JAILBREAK_MIN_GROUPS,
    LATIN_PATTERNS,
    NON_LATIN_GATE,
    NON_LATIN_PATTERNS,
    SQUASHED_PATTERNS,
    jailbreak_groups,
)
from safe_agent.policies.rule_table import InjectionTable, first_match
from safe_agent.policies.tool_output_patterns import TOOL_OUTPUT_PATTERNS
from safe_agent.policies.verdict import ReasonCode, Verdict, allow, deny, fail_closed

__all__ = [
    "DETECTOR_THRESHOLD",
    "INJECTION_PATTERNS",
    "TOOL_OUTPUT_PATTERNS",
    "InjectionDetector",
    "check_input",
    "detect_injection",
    "find_injection",
    "normalise",
    "scan_tool_output",
]

INPUT_POLICY_ID = "input"
TOOL_OUTPUT_POLICY_ID = "tool_output"
DETECTOR_THRESHOLD = 0.5
"""Default score at or above which a second-layer detector's verdict denies."""
_MAX_REPORTED_CODEPOINTS = 5
_LETTER = re.compile("[a-z]")


@runtime_checkable
class InjectionDetector(Protocol):
    """A second-layer prompt-injection classifier that the operator supplies (off by default).

    Why a protocol: the rules here are cheap and explainable but miss paraphrases; a model-based
    classifier catches more at a cost in latency and false positives that only the operator can
    weigh. The guard calls `score` only on text its own rules allowed, after normalisation.
    `score` returns the probability, in [0, 1], that the text is an injection. Raising, or
    returning anything else, denies with POLICY_ERROR: a broken detector fails closed.
    """

    def score(self, text: str) -> float:
        """Return the probability that text is a prompt injection."""
        ...


def normalise(text: str) -> str:
    """Return the NFKC form, so compatibility look-alikes (fullwidth, ligatures) read as plain text.

    Args:
        text: the raw message.

    Returns:
        The NFKC-normalised text.
    """
    return nfkc(text)


def find_injection(text: str, patterns: InjectionTable = INJECTION_PATTERNS) -> str | None:
    """Return the name of the first rule of one table that matches, so a caller can say which fired.

    Args:
        text: text to scan; it is folded (lower case, collapsed spaces) and look-alike letters
            are mapped to Latin here.
        patterns: the table to apply, `INJECTION_PATTERNS` unless told.

    Returns:
        The matching rule's name, or None.
    """
    return first_match(latin(fold(text)), patterns)


def detect_injection(text: str, *, tool_output: bool = False, _decoded: bool = False) -> str | None:
    """Return the name of the rule that finds an injection in any view of text, or None.

    Args:
        text: NFKC-normalised text without invisible characters.
        tool_output: also apply the indirect-injection rules for data a tool returned.

    Returns:
        A rule name (for example "ignore_instructions", "encoded_base64"), or None.
    """
    folded = fold(text)
    if not folded.isascii() and NON_LATIN_GATE.search(folded):
        if (name := first_match(folded, NON_LATIN_PATTERNS)) is not None:
            return name
    letters = latin(folded)
    if _LETTER.search(letters) and (name := _latin_rules(letters, tool_output)) is not None:
        return name
    if not _decoded:
        payloads = decoded_payloads(text)
        for encoding in dict.fromkeys(e for e, _ in payloads):
            joined = "\n".join(p for e, p in payloads if e == encoding)
            if detect_injection(
                strip_invisible(normalise(joined)), tool_output=tool_output, _decoded=True
            ):
                return f"encoded_{encoding}"
    return None


def _latin_rules(letters: str, tool_output: bool) -> str | None:
    """Rules that read the Latin skeleton and its leetspeak, split-word, ROT13 and spaced views."""
    tables = (INJECTION_PATTERNS, LATIN_PATTERNS, TOOL_OUTPUT_PATTERNS if tool_output else ())
    for table in tables:
        if (name := first_match(letters, table)) is not None:
            return name
    if jailbreak_groups(letters) >= JAILBREAK_MIN_GROUPS:
        return "jailbreak_vocabulary"
    joined = unsplit(letters)
    for view, label in (
        (joined, "split_words"),
        (leet(letters), "leetspeak"),
        (rot13(letters), "encoded_rot13"),
    ):
        if view is not None and first_match(view, INJECTION_PATTERNS) is not None:
            return label
    spaced = squashed(letters, force=joined is not None)
    return first_match(spaced, SQUASHED_PATTERNS) if spaced is not None else None


def _second_layer(detector: InjectionDetector, text: str, threshold: float) -> float | None:
    """The detector's score if it reaches the threshold, else None; a bad answer raises."""
    score = detector.score(text)
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0.0 <= score <= 1.0:
        raise ValueError("an injection detector must return a probability in [0, 1]")
    if math.isnan(threshold) or not 0.0 < threshold <= 1.0:
        raise ValueError("detector_threshold must be in (0, 1]")
    return float(score) if score >= threshold else None


@fail_closed(INPUT_POLICY_ID)
def _judge_input(
    text: str, max_chars: int, detector: InjectionDetector | None, threshold: float
) -> Verdict:
    """Apply the input checks in order to normalised text; raising here denies with POLICY_ERROR."""
    if not isinstance(text, str):
        raise TypeError("input text must be a string")
    if isinstance(max_chars, bool) or not isinstance(max_chars, int):
        raise TypeError("max_chars must be an int")
    if not text.strip():
        return deny(ReasonCode.EMPTY_INPUT, "The message is empty.", "input.empty")
    bad = sorted({f"U+{ord(char):04X}" for char in forbidden_chars(text)})
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
    name = detect_injection(text)
    if (
        name is None
        and detector is not None
        and (score := _second_layer(detector, text, threshold)) is not None
    ):
        return deny(
            ReasonCode.PROMPT_INJECTION,
            "The message looks like an attempt to change the assistant's instructions.",
            "input.injection.detector",
            pattern="detector",
            score=round(score, 3),
        )
    if name is not None:
        return deny(
            ReasonCode.PROMPT_INJECTION,
            "The message looks like an attempt to change the assistant's instructions.",
            f"input.injection.{name}",
            pattern=name,
        )
    return allow(INPUT_POLICY_ID, chars=len(text))


def check_input(
    *,
    text: str,
    max_chars: int,
    detector: InjectionDetector | None = None,
    detector_threshold: float = DETECTOR_THRESHOLD,
) -> tuple[Verdict, str]:
    """Decide whether a user message may reach the model, and return the text the model should see.

    Order: NFKC normalisation, empty, control/format characters, length, injection rules, then
    the optional detector. Anything unexpected (a non-string, a broken limit, a detector that
    raises) denies with POLICY_ERROR, never raises.

    Args:
        text: the raw user message.
        max_chars: the longest accepted message, counted after normalisation.
        detector: an optional second-layer classifier; None (the default) turns it off.
        detector_threshold: the detector score at or above which the message is denied.

    Returns:
        The verdict and the NFKC-normalised text ("" when the input could not be normalised).
    """
    try:
        normalised = normalise(text)
    except Exception:  # noqa: BLE001 - the guarded judge below turns this into POLICY_ERROR
        return _judge_input(text, max_chars, detector, detector_threshold), ""
    return _judge_input(normalised, max_chars, detector, detector_threshold), normalised


@fail_closed(TOOL_OUTPUT_POLICY_ID)
def scan_tool_output(
    text: str,
    *,
    detector: InjectionDetector | None = None,
    detector_threshold: float = DETECTOR_THRESHOLD,
) -> Verdict:
    """Deny tool output that carries instructions for the agent, so fetched data cannot steer it.

    Invisible format characters are dropped before matching, so "ig<ZWSP>nore" is still caught.
    Callers scan each string value of a result on its own and withhold only what is denied.

    Args:
        text: one string the tool returned.
        detector: an optional second-layer classifier, consulted when no rule matched.
        detector_threshold: the detector score at or above which the text is denied.

    Returns:
        Allow, or deny with TOOL_OUTPUT_INJECTION naming the rule that matched.
    """
    if not isinstance(text, str):
        raise TypeError("tool output must be a string")
    normal = normalise(text)
    visible = strip_invisible(normal) if forbidden_chars(normal) else normal
    name = detect_injection(visible, tool_output=True)
    if (
        name is None
        and detector is not None
        and _second_layer(detector, visible, detector_threshold) is not None
    ):
        name = "detector"
    if name is not None:
        return deny(
            ReasonCode.TOOL_OUTPUT_INJECTION,
            "The tool returned text that tries to instruct the assistant; it was withheld.",
            f"tool_output.injection.{name}",
            pattern=name,
        )
    return allow(TOOL_OUTPUT_POLICY_ID)
