"""Decide whether an operator's kill switch stops this call: everything, a model, a tool, a tenant,
a user, or every write.

A kill switch is the operator's hand on the brake, independent of any failure: it holds across
runs and processes (the store is SQLite, read on every check, never cached) until someone revives
the target. It covers every stage at once: a new model call (`breaker_check`), a proposed tool
call (`authorize`), a call already authorised or approved (`execute_tool`), and a request still
waiting for people (`approval`; `safe-agent switch-off` voids those it covers). The same
`tool_targets` list decides all the tool-side stages, so they can never disagree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from safe_agent.policies.verdict import ReasonCode, Tier, Verdict, allow, deny, fail_closed

TARGET_PATTERN = re.compile(r"^(all|model|writes|(tool|tenant|user|model):[\w.@:/-]{1,200})$")
"""`all`, `model` (every model), `model:<name>` (one model; `model:<provider>:<name>` also
works), `writes` (every call that is not read-only: read-only mode), `tool:<name>`,
`tenant:<name>` or `user:<id>`."""

TARGET_HELP = "all, model, model:NAME, writes, tool:NAME, tenant:NAME or user:ID"


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


def tool_targets(
    *,
    tool_name: str,
    tenant: str | None,
    user_id: str,
    tier: str | None = None,
    model: str | None = None,
    model_provider: str | None = None,
) -> list[str]:
    """Return the switches that stop a tool call for this caller.

    `tier` unknown counts as a write (fails closed). `model` is the model that proposed the call:
    every call was proposed by some model, so plain `model` always covers it; `model:<name>` only
    when the proposer is known.
    """
    models = [f"model:{model}", *([f"model:{model_provider}:{model}"] if model_provider else [])]
    return [
        "all",
        f"tool:{tool_name}",
        *([f"tenant:{tenant}"] if tenant else []),
        f"user:{user_id}",
        *(["writes"] if tier != Tier.READ_ONLY.value else []),
        "model",
        *(models if model else []),
    ]


@fail_closed("kill_switch")
def check_kill_switches(*, targets: Sequence[str], active: Mapping[str, KillSwitch]) -> Verdict:
    """Deny if any of `targets` is switched off; the first match names the switch and its reason."""
    for target in targets:
        switch = active.get(target)
        if switch is not None:
            return deny(
                ReasonCode.KILL_SWITCH,
                f"{target} was switched off by {switch.set_by}: {switch.reason}",
                f"kill_switch.{target.split(':', 1)[0]}",
                target=target,
                set_by=switch.set_by,
            )
    return allow("kill_switch")
