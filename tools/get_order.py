"""Look up one order with its customer.

The agent then works from the desk's facts, not the user's claims.
"""

from __future__ import annotations

from typing import Any

import pydantic
from pydantic import ConfigDict, Field

from safe_agent.policies.config import ToolPolicy
from safe_agent.policies.verdict import Role, Tier
from safe_agent.stores._sqlite import session
from safe_agent.tools._lookup import load_customer, load_order, refunded_cents
from safe_agent.tools.desk import DESK_DB
from safe_agent.tools.spec import READ_TIMEOUT_S, ToolCallContext, ToolSpec, expect_args

ORDER_ID_PATTERN = r"^[0-9]{4,8}$"


class GetOrderArgs(pydantic.BaseModel):
    """Arguments of get_order."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    order_id: str = Field(
        pattern=ORDER_ID_PATTERN, description="The order number, 4 to 8 digits, e.g. 1001."
    )


TRUSTED_FIELDS = (
    "order_id",
    "status",
    "total_usd",
    "refunded_usd",
    "shipping_address",
    "updated_at",
    "customer_id",
    "customer_email",
    "customer_phone",
)
"""The desk's own record of the order; item names, the customer's name and the order notes are typed
by people (a customer can write anything in a note), so they are left out and stay untrusted."""


def run(args: pydantic.BaseModel, ctx: ToolCallContext) -> dict[str, Any]:
    """Return the order, its customer's contact details and how much has been refunded."""
    a = expect_args(args, GetOrderArgs)
    with session(ctx.resource(DESK_DB)) as db:
        order = load_order(db, a.order_id)
        customer = load_customer(db, order["customer_id"])
        refunded = refunded_cents(db, a.order_id)
    return {
        "order_id": order["id"],
        "status": order["status"],
        "items": order["items"],
        "total_usd": order["total_usd"],
        "refunded_usd": refunded / 100,
        "shipping_address": order["shipping_address"],
        "updated_at": order["updated_at"],
        "customer_id": customer["id"],
        "customer_name": customer["name"],
        "customer_email": customer["email"],
        "customer_phone": customer["phone"],
        "notes": order.get("notes") or "",
    }


SPEC = ToolSpec(
    name="get_order",
    description=(
        "Look up an order by its number: status (processing, shipped, delivered), items, total, "
        "amount already refunded, shipping address, the customer's name, email and phone, and the "
        "notes the customer wrote on the order."
    ),
    args_schema=GetOrderArgs,
    run=run,
    policy=ToolPolicy(
        tier=Tier.READ_ONLY,
        required_role=Role.READ,
        timeout_s=READ_TIMEOUT_S,
        idempotent=True,
        sinks=(),
        trusted_fields=TRUSTED_FIELDS,
    ),
)
