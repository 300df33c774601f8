"""Decide who may settle an in-doubt tool call, and what a settlement looks like.

A call found "started" but never finished (the process died mid-call) may or may not have had
its side effect. For a non-idempotent tool the executor must not guess: a person checks the
downstream system and says done or not done.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from safe_agent.policies.verdict import Decision, ReasonCode, Role, Verdict, deny, fail_closed


class ReconcileResponse(BaseModel):
    """The resume payload for an in-doubt call."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    outcome: Literal["done", "not_done"]
    """done: the side effect happened, record it; not_done: it did not, run the call now."""
    note: str = Field(default="", max_length=2000)
    """What the person checked."""


@fail_closed("reconcile.operator")
def check_reconciler(*, role: Role) -> Verdict:
    """Only an admin may settle an in-doubt call: the answer decides whether money moves again."""
    if not role.at_least(Role.ADMIN):
        return deny(
            ReasonCode.APPROVER_LACKS_ROLE,
            f"settling an in-doubt call needs the admin role, not {role.value}",
            "reconcile.role",
        )
    return Verdict(Decision.ALLOW, ReasonCode.RECONCILED, "", "reconcile.role")
