"""Decide who may settle an in-doubt tool call, and what a settlement looks like.

A call found "started" but never finished (the process died mid-call) may or may not have had
its side effect. For a non-idempotent tool the executor must not guess: a person checks the
downstream system and says done or not done.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from safe_agent.policies.approval import first_error
from safe_agent.policies.verdict import Decision, ReasonCode, Role, Verdict, deny, fail_closed


class ReconcileResponse(BaseModel):
    """The resume payload for an in-doubt call."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    outcome: Literal["done", "not_done"]
    """done: the side effect happened, record it; not_done: it did not, run the call now."""
    note: str = Field(default="", max_length=2000)
    """What the person checked."""


RECONCILE_SCHEMA = ReconcileResponse.model_json_schema()
"""What the reconcile pause shows clients; the node reads the answer with `read_reconcile`."""


def read_reconcile(raw: object) -> ReconcileResponse | Verdict:
    """Read a resume value as a settlement, or say why it cannot be one (nothing runs then: the
    call stays in doubt and the thread asks again)."""
    try:
        return ReconcileResponse.model_validate(raw)
    except ValidationError as exc:
        why = f"not a reconcile answer: {first_error(exc)}"
        return deny(ReasonCode.INVALID_DECISION, why, "reconcile.response")


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
