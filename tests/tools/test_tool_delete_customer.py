"""delete_customer: erases personal data, keeps orders, and is a no-op the second time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pydantic
import pytest

from safe_agent.tools.spec import ToolCallContext, ToolFailure

Call = Callable[[str, dict[str, Any], ToolCallContext], dict[str, Any]]
CtxFactory = Callable[..., ToolCallContext]
Rows = Callable[[str], list[dict[str, Any]]]


def _customer(rows: Rows, customer_id: str) -> dict[str, Any]:
    return next(row for row in rows("customers") if row["id"] == customer_id)


def test_erases_personal_data_and_marks_deleted(
    call: Call, make_ctx: CtxFactory, rows: Rows
) -> None:
    result = call("delete_customer", {"customer_id": "C-100"}, make_ctx())
    assert result == {"customer_id": "C-100", "status": "deleted", "already_deleted": False}
    customer = _customer(rows, "C-100")
    assert (customer["name"], customer["email"], customer["phone"], customer["deleted"]) == (
        "[deleted]",
        "[deleted]",
        "[deleted]",
        1,
    )
    assert _customer(rows, "C-101")["deleted"] == 0


def test_orders_are_kept_but_anonymised(call: Call, make_ctx: CtxFactory) -> None:
    call("delete_customer", {"customer_id": "C-100"}, make_ctx())
    order = call("get_order", {"order_id": "1001"}, make_ctx())
    assert order["customer_id"] == "C-100"
    assert "ada" not in str(order).lower() and "555-0100" not in str(order)


def test_second_delete_is_a_no_op(call: Call, make_ctx: CtxFactory, rows: Rows) -> None:
    call("delete_customer", {"customer_id": "C-102"}, make_ctx("call-1"))
    before = rows("customers")
    again = call("delete_customer", {"customer_id": "C-102"}, make_ctx("call-2"))
    assert again == {"customer_id": "C-102", "status": "deleted", "already_deleted": True}
    assert rows("customers") == before


def test_unknown_customer_fails(call: Call, make_ctx: CtxFactory, rows: Rows) -> None:
    before = rows("customers")
    with pytest.raises(ToolFailure) as caught:
        call("delete_customer", {"customer_id": "C-999"}, make_ctx())
    assert caught.value.code == "customer_not_found"
    assert rows("customers") == before


@pytest.mark.parametrize("customer_id", ["100", "c-100", "C-", "C-100 OR 1=1", "*"])
def test_rejects_malformed_ids(call: Call, make_ctx: CtxFactory, customer_id: str) -> None:
    with pytest.raises(pydantic.ValidationError):
        call("delete_customer", {"customer_id": customer_id}, make_ctx())
