"""Decide whether an operator's kill switch stops this call: everything, a model, a tool, a tenant, a user.

A kill switch is the operator's hand on the brake, independent of any failure: it holds across
runs and processes (the store is SQLite) until someone revives the target.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from policies.verdict import ReasonCode, Verdict, allow, deny, fail_closed

TARGET_PATTERN = re.compile(r"^(all|model|(tool|tenant|user):[\w.@:-]{1,200})$")
"""`all`, `model` (every model call), `tool:<name>`, `tenant:<name>` or `user:<id>`."""


@dataclass(frozen=True, slots=True)
class KillSwitch:
    """One active switch: what it stops, why, who set it and when."""

    target: str
    reason: str
    set_by: str
    set_at: float


def is_valid_target(target: str) -> bool:
    """Say whether a string names something a switch can stop."""
    return isinstance(target, str) and bool(TARGET_PATTERN.match(target))


def model_targets(*, tenant: str | None, user_id: str) -> list[str]:
    """Return the switches that stop a model call for this caller."""
    return ["all", "model", *([f"tenant:{tenant}"] if tenant else []), f"user:{user_id}"]


def tool_targets(*, tool_name: str, tenant: str | None, user_id: str) -> list[str]:
    """Return the switches that stop a tool call for this caller."""
    return ["all", f"tool:{tool_name}", *([f"tenant:{tenant}"] if tenant else []), f"user:{user_id}"]


@fail_closed("kill_switch")
def check_kill_switches(*, targets: Sequence[str], active: Mapping[str, KillSwitch]) -> Verdict:
    """Deny if any of `targets` is switched off; the first match names the switch and its reason."""
    for target in targets:
        switch = active.get(target)
        if switch is not None:
            return deny(ReasonCode.KILL_SWITCH, f"{target} was switched off by {switch.set_by}: {switch.reason}",
                        f"kill_switch.{target.split(':', 1)[0]}", target=target)
    return allow("kill_switch")
