"""update_shipping_address: only before shipment, recorded for undo, once per idempotency key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pydantic
import pytest

from safe_agent.tools.spec import ToolCallContext, ToolFailure

Call = Callable[[str, dict[str, Any], ToolCallContext], dict[str, Any]]
CtxFactory = Callable[..., ToolCallContext]
Rows = Callable[[str], list[dict[str, Any]]]

OLD = "12 Analytical Way, Apt 3, London, N1 9GU, UK"
NEW = "221B Baker Street, London, NW1 6XE, UK"


def _order(rows: Rows, order_id: str) -> dict[str, Any]:
    return next(row for row in rows("orders") if row["id"] == order_id)


def test_changes_a_processing_order_and_records_old_and_new(
    call: Call, make_ctx: CtxFactory, rows: Rows
) -> None:
    ctx = make_ctx()
    result = call("update_shipping_address", {"order_id": "1001", "new_address": NEW}, ctx)
    assert result["status"] == "updated"
    assert (result["order_id"], result["old_address"], result["new_address"]) == ("1001", OLD, NEW)
    assert _order(rows, "1001")["shipping_address"] == NEW
    assert _order(rows, "1001")["updated_at"] != "2025-03-01T09:15:00+00:00"
    [change] = rows("address_changes")
    assert (change["old_address"], change["new_address"], change["idempotency_key"]) == (
        OLD,
        NEW,
        ctx.idempotency_key,
    )
    assert change["id"] == result["change_id"]


@pytest.mark.parametrize("order_id", ["1002", "1003"])
def test_refuses_shipped_or_delivered_orders(
    call: Call, make_ctx: CtxFactory, rows: Rows, order_id: str
) -> None:
    before = _order(rows, order_id)["shipping_address"]
    with pytest.raises(ToolFailure) as caught:
        call("update_shipping_address", {"order_id": order_id, "new_address": NEW}, make_ctx())
    assert caught.value.code == "already_shipped"
    assert _order(rows, order_id)["shipping_address"] == before
    assert rows("address_changes") == []


def test_unknown_order_fails(call: Call, make_ctx: CtxFactory, rows: Rows) -> None:
    with pytest.raises(ToolFailure) as caught:
        call("update_shipping_address", {"order_id": "9999", "new_address": NEW}, make_ctx())
    assert caught.value.code == "order_not_found"
    assert rows("address_changes") == []


def test_same_idempotency_key_returns_first_result_and_changes_nothing(
    call: Call, make_ctx: CtxFactory, rows: Rows
) -> None:
    ctx = make_ctx("call-7")
    first = call("update_shipping_address", {"order_id": "1001", "new_address": NEW}, ctx)
    again = call(
        "update_shipping_address",
        {"order_id": "1001", "new_address": "Somewhere Else 99, Leeds"},
        ctx,
    )
    assert again == first
    assert len(rows("address_changes")) == 1
    assert _order(rows, "1001")["shipping_address"] == NEW


def test_a_new_call_id_is_a_new_change(call: Call, make_ctx: CtxFactory, rows: Rows) -> None:
    call("update_shipping_address", {"order_id": "1001", "new_address": NEW}, make_ctx("call-1"))
    second = call(
        "update_shipping_address",
        {"order_id": "1001", "new_address": "9 Other Road, Leeds"},
        make_ctx("call-2"),
    )
    assert second["old_address"] == NEW
    assert len(rows("address_changes")) == 2


@pytest.mark.parametrize("new_address", ["abc", "    ", "x" * 301])
def test_rejects_out_of_range_addresses(call: Call, make_ctx: CtxFactory, new_address: str) -> None:
    with pytest.raises(pydantic.ValidationError):
        call(
            "update_shipping_address", {"order_id": "1001", "new_address": new_address}, make_ctx()
        )
