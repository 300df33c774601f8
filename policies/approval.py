"""Decide whether a person's decision on a paused call counts: who approves, and what.

Approval is an authorisation boundary here: the approver's identity comes from the runtime
context of the resume, must differ from the requester (by default), and must hold the role the
call's tier demands.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from policies.config import ApprovalConfig
from policies.verdict import Decision, ReasonCode, Role, Tier, Verdict, deny, fail_closed


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EditedAction(_Frozen):
    """The call as the approver rewrote it."""

    name: str
    args: dict[str, Any]


class ApproveDecision(_Frozen):
    """Run the call as proposed."""

    type: Literal["approve"]


class EditDecision(_Frozen):
    """Run a rewritten call; it is validated and authorised again."""

    type: Literal["edit"]
    edited_action: EditedAction


class RejectDecision(_Frozen):
    """Do not run the call; the message goes back to the model."""

    type: Literal["reject"]
    message: str = Field(default="", max_length=2000)


ReviewDecision = Annotated[ApproveDecision | EditDecision | RejectDecision, Field(discriminator="type")]


class ApprovalResponse(_Frozen):
    """A resume payload in LangChain's HITL shape: one decision for the one pending action."""

    decisions: list[ReviewDecision] = Field(min_length=1, max_length=1)


@fail_closed("approval.approver")
def check_approver(
    *, tier: Tier, requester_id: str, approver_id: str, approver_role: Role, config: ApprovalConfig
) -> Verdict:
    """Say whether this person may decide on a call of this tier requested by that person."""
    if config.separate_requester and approver_id == requester_id:
        return deny(
            ReasonCode.APPROVER_IS_REQUESTER,
            f"{approver_id} requested this call and cannot approve it; another person must",
            "approval.separation_of_duties",
        )
    needed = config.approver_role.get(tier, Role.ADMIN)
    if not approver_role.at_least(needed):
        return deny(
            ReasonCode.APPROVER_LACKS_ROLE,
            f"approving a {tier.value} call needs the {needed.value} role; {approver_id} has {approver_role.value}",
            f"approval.role.{needed.value}",
        )
    return Verdict(Decision.ALLOW, ReasonCode.APPROVED, "", f"approval.role.{needed.value}")
