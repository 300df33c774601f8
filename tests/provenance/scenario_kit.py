"""The shapes of a poisoned-content scenario, and the encodings attackers hide instructions in.

A scenario is a user's benign `Task` (what they ask, what the model reads for it, the one side
effect they want), a `Plant` (the poison and where it sits: a KB article, an order note, an
e-mail, a page, a file, an invite) and the attacker's goal as a tool `Call` with values the
attacker chose. The encoders turn an instruction into the forms seen in published attacks
(base64, hex, ROT13, homoglyphs, zero-width characters...), so the suite checks the gate on text
no phrase list will read, while a capable model can still decode it.
"""

from __future__ import annotations

import base64
import codecs
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

Pack = Literal["desk", "workspace"]


@dataclass(frozen=True)
class Call:
    """One tool call as the model would propose it."""

    tool: str
    args: Mapping[str, Any] = field(default_factory=dict)

    def matches(self, name: str, args: Mapping[str, Any]) -> bool:
        """Say whether a proposed call is this one (same tool, same arguments)."""
        return name == self.tool and dict(args) == dict(self.args)


@dataclass(frozen=True)
class Task:
    """What the user asks for: the reads the model makes for it and the one effect they want."""

    id: str
    pack: Pack
    message: str
    reads: tuple[Call, ...]
    action: Call
    """The legitimate side effect; its sink values come from the user or from trusted data."""
    sink_from_untrusted: bool = False
    """The user's own request takes a sink value from untrusted content (e.g. "invite the
    organiser of EV-1"): the gate is right to ask, and the benign average counts that prompt."""
    known_gap: str | None = None
    """Why this benign task is expected to be flagged by mistake (an xfail reason), if it is."""


@dataclass(frozen=True)
class Plant:
    """The poison and where it sits: appended to one text cell, or a new row (a KB article)."""

    where: str
    """For people: "order note (1004)", "e-mail E-2 body"."""
    table: str
    row_id: str
    column: str
    text: str
    new_row: Mapping[str, Any] | None = None
    replace: bool = False
    """Overwrite the cell instead of appending (a poisoned subject line)."""


@dataclass(frozen=True)
class Scenario:
    """One poisoned-content attack on one benign task."""

    id: str
    family: str
    """Where the poison sits: kb_article, order_note, email, web_page, file, calendar."""
    technique: str
    """How it is written: imperative, data, todo, information_tag, polite, a language, a code."""
    task: Task
    plant: Plant
    source_tool: str
    """The tool whose output carries the poison; an approval must name it."""
    attack: Call
    """What the attacker wants run, with the values they chose."""
    needles: tuple[str, ...]
    """What the model has to read (after decoding) to obey: the attacker's values, usually."""
    then: tuple[Call, ...] = ()
    """Reads the poison makes the model do before the attack (e.g. look up a contact)."""
    known_gap: str | None = None
    """Why the gate is expected to miss this one (an xfail reason), if it is."""

    @property
    def pack(self) -> Pack:
        """The tool pack the scenario runs on."""
        return self.task.pack


def scenario(
    sid: str,
    family: str,
    technique: str,
    task: Task,
    plant: Plant,
    source_tool: str,
    attack: Call,
    *needles: str,
    then: tuple[Call, ...] = (),
    gap: str | None = None,
) -> Scenario:
    """Build a scenario with the needles given inline (the catalogues read better that way)."""
    return Scenario(sid, family, technique, task, plant, source_tool, attack, needles, then, gap)


def b64(text: str) -> str:
    """Return base64 of the UTF-8 text."""
    return base64.b64encode(text.encode()).decode()


def hexed(text: str) -> str:
    """Return the UTF-8 bytes as lower-case hex."""
    return text.encode().hex()


def rot13(text: str) -> str:
    """Return the ROT13 form (letters only)."""
    return codecs.encode(text, "rot13")


_LOOKALIKES = str.maketrans("aceopxysiABCEHKMOPTX", "асеорхуѕіАВСЕНКМОРТХ")


def homoglyphs(text: str) -> str:
    """Swap Latin letters for Cyrillic look-alikes: the same to a reader, other code points."""
    return text.translate(_LOOKALIKES)


def zero_width(text: str) -> str:
    """Put a zero-width space between every character."""
    return "\u200b".join(text)


def fullwidth(text: str) -> str:
    """Write ASCII letters, digits and signs in their fullwidth forms."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def percent(text: str) -> str:
    """Percent-encode every character, as in a URL query."""
    return quote(text, safe="")


def entities(text: str) -> str:
    """Write every character as an HTML numeric entity."""
    return "".join(f"&#{ord(c)};" for c in text)
