"""issue_refund: never more than was paid, never twice for one call, even under concurrency."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pydantic
import pytest

from safe_agent.tools.spec import ToolCallContext, ToolFailure

Call = Callable[[str, dict[str, Any], ToolCallContext], dict[str, Any]]
CtxFactory = Callable[..., ToolCallContext]
Rows = Callable[[str], list[dict[str, Any]]]


def _refund(amount: float, order_id: str = "1001") -> dict[str, Any]:
    return {"order_id": order_id, "amount_usd": amount, "reason": "Item arrived damaged"}


def test_issues_a_refund(call: Call, make_ctx: CtxFactory, rows: Rows) -> None:
    ctx = make_ctx()
    result = call("issue_refund", _refund(25.5), ctx)
    [row] = rows("refunds")
    assert result == {
        "refund_id": row["id"],
        "order_id": "1001",
        "amount_usd": 25.5,
        "status": "issued",
    }
    assert (row["amount_usd"], row["reason"], row["idempotency_key"]) == (
        25.5,
        "Item arrived damaged",
        ctx.idempotency_key,
    )


def test_full_order_total_can_be_refunded(call: Call, make_ctx: CtxFactory) -> None:
    assert call("issue_refund", _refund(89.90), make_ctx())["amount_usd"] == 89.90


def test_refund_over_order_total_is_refused(call: Call, make_ctx: CtxFactory, rows: Rows) -> None:
    with pytest.raises(ToolFailure) as caught:
        call("issue_refund", _refund(89.91), make_ctx())
    assert caught.value.code == "amount_exceeds_order"
    assert rows("refunds") == []


def test_refunds_add_up_to_at_most_the_total(call: Call, make_ctx: CtxFactory, rows: Rows) -> None:
    call("issue_refund", _refund(50.0), make_ctx("call-1"))
    with pytest.raises(ToolFailure) as caught:
        call("issue_refund", _refund(40.0), make_ctx("call-2"))
    assert caught.value.code == "amount_exceeds_order"
    call("issue_refund", _refund(39.90), make_ctx("call-3"))
    assert sum(row["amount_usd"] for row in rows("refunds")) == pytest.approx(89.90)
    assert call("get_order", {"order_id": "1001"}, make_ctx())["refunded_usd"] == pytest.approx(
        89.90
    )


def test_unknown_order_is_refused(call: Call, make_ctx: CtxFactory, rows: Rows) -> None:
    with pytest.raises(ToolFailure) as caught:
        call("issue_refund", _refund(1.0, order_id="9999"), make_ctx())
    assert caught.value.code == "order_not_found"
    assert rows("refunds") == []


def test_same_idempotency_key_refunds_once_and_returns_the_same_result(
    call: Call, make_ctx: CtxFactory, rows: Rows
) -> None:
    ctx = make_ctx("call-42")
    first = call("issue_refund", _refund(60.0), ctx)
    again = call("issue_refund", _refund(60.0), ctx)
    assert again == first
    assert len(rows("refunds")) == 1


def test_concurrent_refunds_cannot_overdraw(make_ctx: CtxFactory, call: Call, rows: Rows) -> None:
    def attempt(i: int) -> str:
        try:
            call("issue_refund", _refund(60.0), make_ctx(f"call-{i}"))
        except ToolFailure as failure:
            return failure.code
        return "issued"

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(attempt, range(4)))
    assert sorted(outcomes) == ["amount_exceeds_order"] * 3 + ["issued"]
    assert len(rows("refunds")) == 1


@pytest.mark.parametrize("amount", [0, -5, 10_000.01, 1.005, "fifty", float("nan"), float("inf")])
def test_rejects_bad_amounts(call: Call, make_ctx: CtxFactory, rows: Rows, amount: Any) -> None:
    with pytest.raises(pydantic.ValidationError):
        call("issue_refund", _refund(amount), make_ctx())
    assert rows("refunds") == []


@pytest.mark.parametrize("reason", ["", "r" * 501])
def test_rejects_bad_reasons(call: Call, make_ctx: CtxFactory, reason: str) -> None:
    with pytest.raises(pydantic.ValidationError):
        call("issue_refund", {**_refund(1.0), "reason": reason}, make_ctx())
