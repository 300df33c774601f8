"""Queue an email to a customer: irreversible once sent.

A replayed call must therefore never send twice.
"""

from __future__ import annotations

from typing import Any

import pydantic
from pydantic import ConfigDict, Field

from safe_agent.policies.config import ToolPolicy
from safe_agent.policies.verdict import Role, Tier
from safe_agent.stores._sqlite import immediate, session
from safe_agent.tools._lookup import prior_effect, utc_now
from safe_agent.tools.desk import DESK_DB
from safe_agent.tools.spec import WRITE_TIMEOUT_S, ToolCallContext, ToolSpec, expect_args

EMAIL_PATTERN = r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$"


class SendEmailArgs(pydantic.BaseModel):
    """Arguments of send_email."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    to: str = Field(
        max_length=254, pattern=EMAIL_PATTERN, description="The recipient's email address."
    )
    subject: str = Field(min_length=1, max_length=200, description="The subject line.")
    body: str = Field(min_length=1, max_length=5000, description="The plain-text message.")


def _result(row: dict[str, Any]) -> dict[str, Any]:
    """Shape an outbox row as the tool's result, the same for a first call and a replay."""
    return {"outbox_id": row["id"], "to": row["to_addr"], "status": "queued"}


def run(args: pydantic.BaseModel, ctx: ToolCallContext) -> dict[str, Any]:
    """Put the message in the outbox once per idempotency key and report it queued."""
    a = expect_args(args, SendEmailArgs)
    with session(ctx.resource(DESK_DB)) as db, immediate(db):
        done = prior_effect(db, "outbox", ctx.idempotency_key)
        if done is not None:
            return _result(done)
        row = {
            "idempotency_key": ctx.idempotency_key,
            "to_addr": a.to,
            "subject": a.subject,
            "body": a.body,
            "sent_at": utc_now(),
        }
        row["id"] = db.table("outbox").insert(row).last_pk
    return _result(row)


SPEC = ToolSpec(
    name="send_email",
    description=(
        "Send a plain-text email to a customer. Cannot be unsent: check the address against the "
        "order's customer email and keep the message factual."
    ),
    args_schema=SendEmailArgs,
    run=run,
    policy=ToolPolicy(
        tier=Tier.IRREVERSIBLE,
        required_role=Role.WRITE,
        timeout_s=WRITE_TIMEOUT_S,
        idempotent=False,
        sinks=("to",),
    ),
)
