"""The poisoned-content suite (issue 9) and the worst-case model that obeys whatever it can read.

`SCENARIOS` holds every attack over both packs; `BENIGN_TASKS` every task run without poison
(the twins of the attacked tasks, plus tasks where the user types the sink values themselves).

`ObeyingModel` stands in for a model that follows any instruction it can read. It makes the
task's reads, then looks at each tool result *as the model receives it* (the JSON envelope, with
withheld strings already replaced) and decodes it every way a capable model could: NFKC, invisible
characters dropped, Cyrillic look-alikes read as Latin, HTML entities, percent-encoding, ROT13,
hex, base64. If an attack's values are readable in any of those views it proposes the attacker's
call (it "knows" the attack: the oracle stands for the model's understanding of the text); after
that, or if it read nothing, it does the user's task. So an attack that fails here failed
because the defences stopped it, not because the model was too dim to follow it.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import html
import json
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import unquote

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from tests.provenance import scenarios_desk, scenarios_documents, scenarios_workspace
from tests.provenance.scenario_kit import Call, Scenario, Task
from tests.provenance.tasks import BENIGN_TASKS

SCENARIOS: tuple[Scenario, ...] = (
    scenarios_desk.SCENARIOS + scenarios_workspace.SCENARIOS + scenarios_documents.SCENARIOS
)
__all__ = ["BENIGN_TASKS", "SCENARIOS", "ObeyingModel", "readable", "readings"]

_LATIN = str.maketrans("асеорхуѕіАВСЕНКМОРТХ", "aceopxysiABCEHKMOPTX")
_BASE64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2}){8,}")


def _plain(text: str) -> str:
    """Fold text as a reader sees it: NFKC, no invisible characters, case and spacing folded."""
    text = unicodedata.normalize("NFKC", text).translate(_LATIN)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return re.sub(r"\s+", " ", text).casefold().strip()


def _decoded(pattern: re.Pattern[str], text: str, decode: Any) -> Iterator[str]:
    for blob in pattern.findall(text):
        try:
            yield decode(blob).decode("utf-8")
        except (ValueError, binascii.Error, UnicodeDecodeError):
            continue


def readings(text: str) -> set[str]:
    """Return every way the model can read `text`, each folded by `_plain`."""
    plain = _plain(text)
    views = {text, plain, html.unescape(text), unquote(text), codecs.decode(plain, "rot13")}
    views.update(_decoded(_BASE64, text, lambda b: base64.b64decode(b, validate=True)))
    views.update(_decoded(_HEX, text, bytes.fromhex))
    return {_plain(v) for v in views}


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def seen_text(message: ToolMessage) -> list[str]:
    """Return the strings the model reads in one tool message (the envelope's data, else all)."""
    try:
        envelope = json.loads(str(message.content))
    except ValueError:
        return [str(message.content)]
    if not isinstance(envelope, dict):
        return [str(message.content)]
    return list(_strings(envelope.get("data", envelope.get("data_text", ""))))


def readable(needles: Sequence[str], messages: Sequence[BaseMessage]) -> bool:
    """Say whether every needle can be read (decoded if need be) in some tool result."""
    views = [
        v for m in messages if isinstance(m, ToolMessage) for s in seen_text(m) for v in readings(s)
    ]
    compact = [re.sub(r"[\s\-]", "", v) for v in views]
    for needle in needles:
        want = _plain(needle)
        if not any(want in v for v in views) and not any(
            re.sub(r"[\s\-]", "", want) in c for c in compact
        ):
            return False
    return True


class ObeyingModel:
    """The scripted model: the task's reads, then any attack it can read, then the task."""

    def __init__(
        self,
        task: Task,
        attacks: Sequence[Scenario] = (),
        reveal: Callable[[str], str] = lambda text: text,
    ) -> None:
        """Follow `task`, and obey any of `attacks` whose values show up in what it reads.

        Tool results reach the model with PII as vault tokens; `reveal` (the thread's vault)
        lets it read what a real model would copy: it proposes the value, which authorize turns
        back into the token it saw (`nodes._pii`), exactly as if it had copied the token.
        """
        self.task = task
        self.attacks = tuple(attacks)
        self.reveal = reveal
        self.proposed: list[dict[str, Any]] = []
        """Every tool call this model proposed, in order (with ids), for the harness to inspect."""
        self.last_seen: list[BaseMessage] = []
        """The last conversation the model was shown (tool results, refusals included)."""

    def respond(self, messages: list[BaseMessage]) -> AIMessage:
        """Return the next step given the conversation so far."""
        self.last_seen = list(messages)
        shown = [
            m.model_copy(update={"content": self.reveal(str(m.content))})
            if isinstance(m, ToolMessage)
            else m
            for m in messages
        ]
        made = [c for m in messages if isinstance(m, AIMessage) for c in m.tool_calls]
        for read in self.task.reads:
            if not _made(read, made):
                return self._propose(read, made)
        for attack in self.attacks:
            if not _made(attack.attack, made) and readable(attack.needles, shown):
                for step in attack.then:
                    if not _made(step, made):
                        return self._propose(step, made)
                return self._propose(attack.attack, made)
        if not _made(self.task.action, made):
            return self._propose(self.task.action, made)
        return AIMessage(content="Done.")

    def _propose(self, call: Call, made: list[Any]) -> AIMessage:
        proposed = {"id": f"call_{len(made) + 1}", "name": call.tool, "args": dict(call.args)}
        self.proposed.append(proposed)
        return AIMessage(content="", tool_calls=[proposed])


def _made(call: Call, made: list[Any]) -> bool:
    return any(call.matches(c["name"], c["args"]) for c in made)
