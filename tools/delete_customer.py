"""Erase a customer's personal data on request: destructive, so admin-only and approval-gated."""

from __future__ import annotations

from typing import Any

import pydantic
from pydantic import ConfigDict, Field

from safe_agent.policies.config import ToolPolicy
from safe_agent.policies.verdict import Role, Tier
from safe_agent.stores._sqlite import immediate, session
from safe_agent.tools._lookup import load_customer
from safe_agent.tools.desk import DESK_DB
from safe_agent.tools.spec import WRITE_TIMEOUT_S, ToolCallContext, ToolSpec, expect_args

ERASED = "[deleted]"


class DeleteCustomerArgs(pydantic.BaseModel):
    """Arguments of delete_customer."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    customer_id: str = Field(pattern=r"^C-[0-9]{1,8}$", description="The customer id, e.g. C-100.")


def run(args: pydantic.BaseModel, ctx: ToolCallContext) -> dict[str, Any]:
    """Blank the customer's name, email and phone and mark them deleted; a repeat is a no-op."""
    a = expect_args(args, DeleteCustomerArgs)
    with session(ctx.resource(DESK_DB)) as db, immediate(db):
        customer = load_customer(db, a.customer_id)
        already = bool(customer["deleted"])
        if not already:
            db.table("customers").update(
                a.customer_id, {"name": ERASED, "email": ERASED, "phone": ERASED, "deleted": 1}
            )
    return {"customer_id": a.customer_id, "status": "deleted", "already_deleted": already}


SPEC = ToolSpec(
    name="delete_customer",
    description=(
        "Permanently erase a customer's personal data (name, email, phone) after a verified data "
        "deletion request. Orders are kept, anonymised. Cannot be undone."
    ),
    args_schema=DeleteCustomerArgs,
    run=run,
    policy=ToolPolicy(
        tier=Tier.DESTRUCTIVE,
        required_role=Role.ADMIN,
        timeout_s=WRITE_TIMEOUT_S,
        idempotent=True,
        sinks=("customer_id",),
    ),
)
