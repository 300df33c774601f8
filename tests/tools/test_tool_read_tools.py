"""The read tools: search_kb ranks help articles, get_order reports desk facts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pydantic
import pytest

from safe_agent.stores._sqlite import session
from safe_agent.tools.search_kb import search_terms
from safe_agent.tools.spec import ToolCallContext, ToolFailure

Call = Callable[[str, dict[str, Any], ToolCallContext], dict[str, Any]]
CtxFactory = Callable[..., ToolCallContext]


@pytest.mark.parametrize(
    ("query", "best"),
    [
        ("How do I get a refund?", "KB-001"),
        ("Can I change the shipping address on my order?", "KB-003"),
        ("forgot my password", "KB-004"),
        ("my jacket has a defect, is it under warranty", "KB-006"),
        ("delete my personal data", "KB-008"),
        ("what are your contact hours", "KB-007"),
    ],
)
def test_search_kb_ranks_the_relevant_article_first(
    call: Call, make_ctx: CtxFactory, query: str, best: str
) -> None:
    articles = call("search_kb", {"query": query}, make_ctx())["articles"]
    assert articles[0]["id"] == best
    assert set(articles[0]) == {"id", "title", "snippet"}
    assert articles[0]["snippet"]


def test_search_kb_respects_limit(call: Call, make_ctx: CtxFactory) -> None:
    assert (
        len(
            call("search_kb", {"query": "order refund shipping delivery", "limit": 2}, make_ctx())[
                "articles"
            ]
        )
        == 2
    )
    assert (
        len(call("search_kb", {"query": "order refund shipping delivery"}, make_ctx())["articles"])
        == 3
    )


def test_search_kb_returns_empty_list_when_nothing_matches(
    call: Call, make_ctx: CtxFactory
) -> None:
    assert call("search_kb", {"query": "xylophone zeppelin"}, make_ctx()) == {"articles": []}
    assert call("search_kb", {"query": "how do I?"}, make_ctx()) == {"articles": []}


def test_search_kb_treats_fts_syntax_as_plain_words(call: Call, make_ctx: CtxFactory) -> None:
    articles = call("search_kb", {"query": 'refund" OR NEAR( * password:'}, make_ctx())["articles"]
    assert {article["id"] for article in articles} >= {"KB-001", "KB-004"}


def test_search_kb_falls_back_to_keyword_overlap_without_fts(
    call: Call, make_ctx: CtxFactory, desk: str
) -> None:
    with session(desk) as db:
        db.execute("DROP TABLE kb_articles_fts")
    articles = call("search_kb", {"query": "reset password", "limit": 2}, make_ctx())["articles"]
    assert articles[0]["id"] == "KB-004"
    assert call("search_kb", {"query": "xylophone"}, make_ctx()) == {"articles": []}


def test_search_terms_drop_filler_and_duplicates() -> None:
    assert search_terms("How do I get a Refund, refund?") == ["get", "refund"]


@pytest.mark.parametrize(
    "args",
    [{"query": ""}, {"query": "x" * 501}, {"query": "a", "limit": 0}, {"query": "a", "limit": 11}],
)
def test_search_kb_rejects_out_of_range_args(
    call: Call, make_ctx: CtxFactory, args: dict[str, Any]
) -> None:
    with pytest.raises(pydantic.ValidationError):
        call("search_kb", args, make_ctx())


def test_get_order_returns_order_with_customer(call: Call, make_ctx: CtxFactory) -> None:
    order = call("get_order", {"order_id": "1001"}, make_ctx())
    assert order["order_id"] == "1001" and order["status"] == "processing"
    assert order["total_usd"] == 89.90 and order["refunded_usd"] == 0
    assert order["customer_id"] == "C-100"
    assert order["customer_name"] == "Ada Lovelace"
    assert order["customer_email"] == "ada.lovelace@example.com"
    assert order["customer_phone"] == "555-0100"
    assert order["shipping_address"]
    assert [item["sku"] for item in order["items"]] == ["SOCK-WL", "LAMP-HD"]
    assert sum(i["qty"] * i["unit_price_usd"] for i in order["items"]) == pytest.approx(
        order["total_usd"]
    )


def test_get_order_unknown_id_fails_with_order_not_found(call: Call, make_ctx: CtxFactory) -> None:
    with pytest.raises(ToolFailure) as caught:
        call("get_order", {"order_id": "9999"}, make_ctx())
    assert caught.value.code == "order_not_found"


@pytest.mark.parametrize(
    "order_id", ["100", "123456789", "10a1", "1001; DROP TABLE orders", "١٠٠١"]
)
def test_get_order_rejects_malformed_ids(call: Call, make_ctx: CtxFactory, order_id: str) -> None:
    with pytest.raises(pydantic.ValidationError):
        call("get_order", {"order_id": order_id}, make_ctx())


def test_get_order_returns_the_customers_note_as_untrusted(
    call: Call, make_ctx: CtxFactory
) -> None:
    from safe_agent.tools.get_order import SPEC, TRUSTED_FIELDS

    order = call("get_order", {"order_id": "1002"}, make_ctx())
    assert order["notes"] == "Please ring the bell twice, the buzzer is broken."
    assert call("get_order", {"order_id": "1001"}, make_ctx())["notes"] == ""
    assert "notes" not in TRUSTED_FIELDS and SPEC.policy.trusted_fields == TRUSTED_FIELDS
