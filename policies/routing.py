"""Pick the model for one turn and the ladder behind it: pure functions, no I/O, no clock.

The ladder (`docs/resilience.md`) is the primary model, then each fallback in order; a slot that
is switched off or whose breaker refuses is skipped, and when no slot is left the run ends with
an honest "cannot do this right now". Cost-aware routing may put the cheap model first: once a
budget passed its soft limit, or for a request the rule calls simple. A slot is served read-only
(write tools withdrawn) when its entry says so or the operator switched `writes` off.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from safe_agent.policies.model_config import RoutingConfig
from safe_agent.policies.verdict import ReasonCode, Verdict, allow, deny

POLICY_ROUTE = "routing.route"
POLICY_LADDER = "routing.ladder"

READ_ONLY_NOTE = (
    "Service note: actions that change anything are unavailable right now ({why}). You can look "
    "things up and answer questions. Do not propose any action; tell the user plainly what could "
    "not be done and that they can ask again later."
)
"""The system note a read-only turn carries, so the model is told rather than left guessing."""


@dataclass(frozen=True, slots=True)
class SlotFacts:
    """What the ladder needs to know about one model slot, gathered by the caller."""

    breaker: str
    """The slot's breaker name, "model:<provider>:<name>"."""
    level: str
    """"primary", "fallback" or "cheap"."""
    read_only: bool
    switched_off_by: str | None = None
    """The switch target that stops this slot ("model", "model:<name>"), if any."""
    breaker_open: bool = False
    """Its breaker refuses calls now (open and cooling down, or a probe in flight)."""


def is_simple_request(*, text: str, config: RoutingConfig) -> bool:
    """Say whether a request is short and names no write action, so the cheap model may serve it."""
    if config.simple_max_chars is None or not text or len(text) > config.simple_max_chars:
        return False
    words = set(re.findall(r"[a-z]+", text.lower()))
    return not any(word in words for word in config.write_words)


def route_turn(
    *,
    config: RoutingConfig,
    has_cheap: bool,
    soft_limit_passed: bool,
    request_text: str,
) -> Verdict:
    """Decide which model a turn goes to first: "cheap" or "primary", with the reason why."""
    if not has_cheap:
        return allow(POLICY_ROUTE, "no cheap model is configured", route="primary")
    if soft_limit_passed and config.cheap_on_soft_limit:
        return allow(POLICY_ROUTE, "a budget passed its soft limit", route="cheap")
    if is_simple_request(text=request_text, config=config):
        return allow(POLICY_ROUTE, "the request is simple", route="cheap")
    return allow(POLICY_ROUTE, "the request goes to the primary model", route="primary")


def ladder_order(slots: Sequence[SlotFacts], *, first: str | None) -> list[SlotFacts]:
    """Put the slot whose breaker is `first` at the head, then primary and fallbacks in order.

    The cheap slot is only on the ladder when routing picked it: it is not a fallback.
    """
    chosen = [s for s in slots if s.breaker == first]
    rest = [s for s in slots if s.breaker != first and s.level != "cheap"]
    return chosen + rest


def serve_read_only(slot: SlotFacts, *, active_switches: Mapping[str, object]) -> str | None:
    """Return why a slot must be served read-only (its entry, or the `writes` switch), else None."""
    if "writes" in active_switches:
        return "the operator switched writes off"
    if slot.read_only:
        return "the model serving now is configured read-only"
    return None


def available(slots: Sequence[SlotFacts]) -> Verdict:
    """Allow if a slot can be tried now; else deny with why each cannot (the honest failure)."""
    usable = [s for s in slots if s.switched_off_by is None and not s.breaker_open]
    if usable:
        return allow(POLICY_LADDER, f"{usable[0].breaker} can serve", first=usable[0].breaker)
    reasons = [
        f"{s.breaker}: {'switched off' if s.switched_off_by else 'breaker open'}" for s in slots
    ]
    code = (
        ReasonCode.KILL_SWITCH
        if slots and all(s.switched_off_by for s in slots)
        else ReasonCode.BREAKER_OPEN
    )
    return deny(code, "no model can serve right now (" + "; ".join(reasons) + ")", POLICY_LADDER)
