"""Refund money on an order, never more than was paid and never twice for one call."""

from __future__ import annotations

import math
from typing import Any

import pydantic
from pydantic import ConfigDict, Field, field_validator

from safe_agent.policies.config import ToolPolicy
from safe_agent.policies.verdict import Role, Tier
from safe_agent.stores._sqlite import immediate, session
from safe_agent.tools._lookup import load_order, prior_effect, refunded_cents, to_cents, utc_now
from safe_agent.tools.desk import DESK_DB
from safe_agent.tools.get_order import ORDER_ID_PATTERN
from safe_agent.tools.spec import (
    WRITE_TIMEOUT_S,
    ToolCallContext,
    ToolFailure,
    ToolSpec,
    expect_args,
)

MAX_REFUND_USD = 10_000.0


class IssueRefundArgs(pydantic.BaseModel):
    """Arguments of issue_refund."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)

    order_id: str = Field(pattern=ORDER_ID_PATTERN, description="The order number, e.g. 1001.")
    amount_usd: float = Field(
        gt=0, le=MAX_REFUND_USD, description="Amount to refund in US dollars, at most 2 decimals."
    )
    reason: str = Field(min_length=1, max_length=500, description="Why the refund is given.")

    @field_validator("amount_usd")
    @classmethod
    def _whole_cents(cls, value: float) -> float:
        """Refuse fractions of a cent, which would round to another refund than the one approved."""
        if not math.isclose(value * 100, round(value * 100), abs_tol=1e-6):
            raise ValueError("amount_usd must have at most 2 decimal places")
        return round(value, 2)


def _result(row: dict[str, Any]) -> dict[str, Any]:
    """Shape a refunds row as the tool's result, the same for a first call and a replay."""
    return {
        "refund_id": row["id"],
        "order_id": row["order_id"],
        "amount_usd": row["amount_usd"],
        "status": "issued",
    }


def run(args: pydantic.BaseModel, ctx: ToolCallContext) -> dict[str, Any]:
    """Record a refund if the order can still cover it, once per idempotency key."""
    a = expect_args(args, IssueRefundArgs)
    with session(ctx.resource(DESK_DB)) as db, immediate(db):
        done = prior_effect(db, "refunds", ctx.idempotency_key)
        if done is not None:
            return _result(done)
        order = load_order(db, a.order_id)
        remaining = to_cents(order["total_usd"]) - refunded_cents(db, a.order_id)
        if to_cents(a.amount_usd) > remaining:
            raise ToolFailure(
                "amount_exceeds_order",
                f"Order {a.order_id} can be refunded at most {remaining / 100:.2f} USD more "
                f"(total {order['total_usd']:.2f} USD); {a.amount_usd:.2f} USD was asked.",
            )
        row = {
            "idempotency_key": ctx.idempotency_key,
            "order_id": a.order_id,
            "amount_usd": a.amount_usd,
            "reason": a.reason,
            "created_at": utc_now(),
        }
        row["id"] = db.table("refunds").insert(row).last_pk
    return _result(row)


SPEC = ToolSpec(
    name="issue_refund",
    description=(
        "Refund part or all of an order to the original payment method. The total refunded on an "
        "order can never exceed what was paid. Cannot be undone."
    ),
    args_schema=IssueRefundArgs,
    run=run,
    policy=ToolPolicy(
        tier=Tier.IRREVERSIBLE,
        required_role=Role.WRITE,
        timeout_s=WRITE_TIMEOUT_S,
        idempotent=False,
        sinks=("order_id", "amount_usd"),
    ),
)
