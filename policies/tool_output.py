"""The model's view of a tool result: labelled data, instruction-bearing text withheld, cuts shown.

Quarantine, not amputation: every string value of an untrusted result is scanned on its own, and
only the flagged strings are replaced by a marker, so an order record with a poisoned note keeps
its id, status and totals. The result always reaches the model inside one JSON envelope
(`{"tool", "trust", "data"}`), so tool text can never pose as the conversation's own turns, and a
result longer than the limit is cut visibly: the envelope says so, and so does the audit row.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from safe_agent.policies.verdict import ReasonCode, Verdict, deny

Scan = Callable[[str], Verdict]
WITHHELD = "[withheld: text aimed at the assistant, not data]"


@dataclass(frozen=True)
class Withheld:
    """One string that was not shown to the model: where it was and which rule flagged it."""

    path: str
    rule: str


@dataclass(frozen=True)
class QuarantinedOutput:
    """The envelope text for the model and what the audit must record about it."""

    content: str
    trust: str
    withheld: list[Withheld] = field(default_factory=list)
    truncated_from: int | None = None
    """Length of the full envelope when it was cut; None when shown whole."""

    def audit_summary(self) -> dict[str, Any]:
        """Return what the audit row says about the output (paths and rules, never the text)."""
        return {
            "trust": self.trust,
            "withheld": [{"path": w.path, "rule": w.rule} for w in self.withheld],
            "truncated_from_chars": self.truncated_from,
        }


def _screen(value: Any, path: str, scan: Scan, found: list[Withheld]) -> Any:
    """Return `value` with each flagged string replaced; record where and why."""
    if isinstance(value, str):
        verdict = scan(value)
        if verdict.allowed:
            return value
        found.append(Withheld(path or "$", verdict.policy_id))
        return WITHHELD
    if isinstance(value, dict):
        return {
            k: _screen(v, f"{path}.{k}" if path else str(k), scan, found) for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_screen(v, f"{path}[{i}]", scan, found) for i, v in enumerate(value)]
    return value


def quarantine(
    result: Any,
    *,
    tool_name: str,
    trusted: bool,
    trusted_fields: Collection[str],
    max_chars: int,
    scan: Scan,
) -> QuarantinedOutput:
    """Wrap one tool result for the model: scan untrusted strings, label trust, cut visibly.

    Args:
        result: what the tool returned (JSON-safe data).
        tool_name: the tool's name, repeated in the envelope.
        trusted: the tool's whole output is the operator's data (not scanned).
        trusted_fields: top-level keys of a dict result that are trusted (not scanned).
        max_chars: the longest envelope the model may see.
        scan: the injection scan for one string (`policies.input_guard.scan_tool_output`).
    """
    found: list[Withheld] = []
    if trusted:
        data, trust = result, "trusted"
    elif isinstance(result, dict) and trusted_fields:
        data = {
            k: v if k in trusted_fields else _screen(v, str(k), scan, found)
            for k, v in result.items()
        }
        trust = "mixed"
    else:
        data, trust = _screen(result, "", scan, found), "untrusted"
    envelope: dict[str, Any] = {"tool": tool_name, "trust": trust, "data": data}
    if trust == "mixed":
        envelope["trusted_fields"] = sorted(
            k for k in trusted_fields if isinstance(data, dict) and k in data
        )
    if found:
        envelope["withheld"] = [w.path for w in found]
    text = json.dumps(envelope, default=str, ensure_ascii=False)
    if len(text) <= max_chars:
        return QuarantinedOutput(text, trust, found)
    return QuarantinedOutput(
        _cut(envelope, text, max_chars), trust, found, truncated_from=len(text)
    )


def _cut(envelope: dict[str, Any], text: str, max_chars: int) -> str:
    """Return an envelope whose data is the first part of the serialised data, marked as cut."""
    data_text = json.dumps(envelope["data"], default=str, ensure_ascii=False)
    head = {k: v for k, v in envelope.items() if k != "data"}
    head["truncated"] = {"shown_chars": 0, "total_chars": len(data_text)}
    room = max(0, max_chars - len(json.dumps(head, ensure_ascii=False)) - 40)
    while True:  # escaping can make the cut text longer than `room`: shrink until it fits
        head["truncated"]["shown_chars"] = room
        out = json.dumps({**head, "data_text": data_text[:room]}, default=str, ensure_ascii=False)
        if len(out) <= max_chars or room == 0:
            return out
        room = max(0, room - (len(out) - max_chars))


def withheld_verdict(shown: QuarantinedOutput) -> Verdict:
    """The audit verdict for an output with withheld strings: which rules fired, never the text."""
    rules = sorted({w.rule for w in shown.withheld})
    return deny(
        ReasonCode.TOOL_OUTPUT_INJECTION,
        f"{len(shown.withheld)} string(s) of the tool output were withheld as instructions",
        rules[0] if len(rules) == 1 else "tool_output.injection",
        withheld=[w.path for w in shown.withheld],
        rules=rules,
    )
