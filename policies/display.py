"""What a person at a terminal sees of a run result or an approval request: secrets masked, the
facts an approver decides on kept.

An approver must see what will happen: the tool, the amount, the order or customer id, who the
mail goes to, where the parcel goes, and the action digest the decision is bound to. They never
need a card number, an API key, a bearer token, a private key, an SSN, an IBAN or a random token
to decide, and a terminal is shown to the room, scrolled back, pasted into tickets and logged. So
printing masks those kinds and keeps the kinds that say who or where (`VISIBLE_KINDS`).

Only what is printed changes: the action digest is computed by the graph on the real arguments,
and the approved call runs with them. Ids and digests under their own keys are never rewritten
(see `policies.redaction.is_structural_key`), and a vaulted value's stand-in
(`[[pii:email:1a2b3c4d]]`) is shown as it is.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from safe_agent.policies.redaction import KINDS, redact_text, redact_value

VISIBLE_KINDS: frozenset[str] = frozenset({"email", "phone", "ip"})
"""Kinds an approver must read to judge a call: the recipient of a mail, a number to call, a host.
A postal address is never detected as sensitive, so it is shown too."""

MASKED_KINDS: tuple[str, ...] = tuple(kind for kind in KINDS if kind not in VISIBLE_KINDS)
"""What the display hides: cards, API keys, secrets (JWT, bearer, `password=`), private keys,
SSNs, IBANs and random-looking tokens."""


def mask_for_display(value: Any, *, visible: Collection[str] = VISIBLE_KINDS) -> Any:
    """Return a copy of JSON-like data fit to print: masked kinds replaced by their placeholders.

    Dicts, lists and tuples are walked; a value under a secret-named key (`password`, `api_key`,
    `authorization`...) is hidden whatever it looks like; numbers, booleans and ids stay as they
    are. Never raises (see `redact_value`).

    Args:
        value: a run result, an approval request, a list of them, or any string.
        visible: the kinds left in place (default `VISIBLE_KINDS`).

    Returns:
        The masked copy; the input is not changed.
    """
    return redact_value(value, keep=visible)[0]


def mask_text(text: str, *, visible: Collection[str] = VISIBLE_KINDS) -> str:
    """Mask one line of text for display, as `mask_for_display` does for each string."""
    return redact_text(text, keep=visible).text
