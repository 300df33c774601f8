"""Change where an unshipped order goes, keeping the old address so the change can be undone."""

from __future__ import annotations

from typing import Any

import pydantic
from pydantic import ConfigDict, Field

from safe_agent.policies.config import ToolPolicy
from safe_agent.policies.verdict import Role, Tier
from safe_agent.stores._sqlite import immediate, session
from safe_agent.tools._lookup import load_order, prior_effect, utc_now
from safe_agent.tools.desk import DESK_DB
from safe_agent.tools.get_order import ORDER_ID_PATTERN
from safe_agent.tools.spec import (
    WRITE_TIMEOUT_S,
    ToolCallContext,
    ToolFailure,
    ToolSpec,
    expect_args,
)

LOCKED_STATUSES = frozenset({"shipped", "delivered"})


class UpdateShippingAddressArgs(pydantic.BaseModel):
    """Arguments of update_shipping_address."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    order_id: str = Field(pattern=ORDER_ID_PATTERN, description="The order number, e.g. 1001.")
    new_address: str = Field(
        min_length=5, max_length=300, description="The full new shipping address."
    )


def _result(change: dict[str, Any]) -> dict[str, Any]:
    """Shape an address_changes row as the tool's result, the same for a first call and a replay."""
    return {
        "change_id": change["id"],
        "order_id": change["order_id"],
        "old_address": change["old_address"],
        "new_address": change["new_address"],
        "status": "updated",
    }


def run(args: pydantic.BaseModel, ctx: ToolCallContext) -> dict[str, Any]:
    """Record the change and update the order, unless it has shipped or this call already ran."""
    a = expect_args(args, UpdateShippingAddressArgs)
    with session(ctx.resource(DESK_DB)) as db, immediate(db):
        done = prior_effect(db, "address_changes", ctx.idempotency_key)
        if done is not None:
            return _result(done)
        order = load_order(db, a.order_id)
        if order["status"] in LOCKED_STATUSES:
            raise ToolFailure(
                "already_shipped",
                f"Order {a.order_id} is {order['status']}; its address can no longer be changed.",
            )
        now = utc_now()
        change = {
            "idempotency_key": ctx.idempotency_key,
            "order_id": a.order_id,
            "old_address": order["shipping_address"],
            "new_address": a.new_address,
            "changed_at": now,
        }
        change["id"] = db.table("address_changes").insert(change).last_pk
        db.table("orders").update(
            a.order_id, {"shipping_address": a.new_address, "updated_at": now}
        )
    return _result(change)


SPEC = ToolSpec(
    name="update_shipping_address",
    description=(
        "Change the shipping address of an order that is still processing. Refused once the order "
        "has shipped or been delivered. Confirm the new address with the customer first."
    ),
    args_schema=UpdateShippingAddressArgs,
    run=run,
    policy=ToolPolicy(
        tier=Tier.REVERSIBLE,
        required_role=Role.WRITE,
        timeout_s=WRITE_TIMEOUT_S,
        idempotent=True,
        sinks=("order_id", "new_address"),
    ),
)
