"""send_email: queues one outbox row per idempotency key, never a second email."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pydantic
import pytest

from safe_agent.tools.spec import ToolCallContext

Call = Callable[[str, dict[str, Any], ToolCallContext], dict[str, Any]]
CtxFactory = Callable[..., ToolCallContext]
Rows = Callable[[str], list[dict[str, Any]]]

ARGS = {
    "to": "ada.lovelace@example.com",
    "subject": "Your order 1001",
    "body": "Your new address is saved.",
}


def test_queues_the_email(call: Call, make_ctx: CtxFactory, rows: Rows) -> None:
    ctx = make_ctx()
    result = call("send_email", ARGS, ctx)
    [row] = rows("outbox")
    assert result == {"outbox_id": row["id"], "to": ARGS["to"], "status": "queued"}
    assert (row["to_addr"], row["subject"], row["body"]) == (
        ARGS["to"],
        ARGS["subject"],
        ARGS["body"],
    )
    assert row["idempotency_key"] == ctx.idempotency_key and row["sent_at"]


def test_same_idempotency_key_sends_once_and_returns_the_same_result(
    call: Call, make_ctx: CtxFactory, rows: Rows
) -> None:
    ctx = make_ctx("call-9")
    first = call("send_email", ARGS, ctx)
    again = call("send_email", {**ARGS, "body": "A different body on retry."}, ctx)
    assert again == first
    [row] = rows("outbox")
    assert row["body"] == ARGS["body"]


def test_different_call_ids_send_separately(call: Call, make_ctx: CtxFactory, rows: Rows) -> None:
    first = call("send_email", ARGS, make_ctx("call-1"))
    second = call("send_email", ARGS, make_ctx("call-2"))
    assert first["outbox_id"] != second["outbox_id"]
    assert len(rows("outbox")) == 2


@pytest.mark.parametrize(
    "bad",
    [
        {"to": "not-an-email"},
        {"to": "a@b"},
        {"to": "two@@example.com"},
        {"to": "ada@example.com, eve@evil.example"},
        {"subject": ""},
        {"subject": "s" * 201},
        {"body": ""},
        {"body": "b" * 5001},
    ],
)
def test_rejects_bad_args_and_queues_nothing(
    call: Call, make_ctx: CtxFactory, rows: Rows, bad: dict[str, Any]
) -> None:
    with pytest.raises(pydantic.ValidationError):
        call("send_email", {**ARGS, **bad}, make_ctx())
    assert rows("outbox") == []
