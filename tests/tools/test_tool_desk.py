"""The desk file: seeded once, safe to re-create, with the constraints idempotency relies on."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from safe_agent.stores._sqlite import session
from safe_agent.tools.desk import create_desk

SEEDED = {
    "customers": 5,
    "orders": 6,
    "kb_articles": 8,
    "outbox": 0,
    "refunds": 0,
    "address_changes": 0,
}


def _counts(path: str) -> dict[str, int]:
    with session(path) as db:
        return {table: db.table(table).count for table in SEEDED}


def test_fresh_desk_has_the_seed_rows(desk: str) -> None:
    assert _counts(desk) == SEEDED


def test_order_1001_is_processing_for_c100(
    desk: str, rows: Callable[[str], list[dict[str, Any]]]
) -> None:
    order = next(row for row in rows("orders") if row["id"] == "1001")
    customer = next(row for row in rows("customers") if row["id"] == "C-100")
    assert (order["status"], order["total_usd"], order["customer_id"]) == (
        "processing",
        89.90,
        "C-100",
    )
    assert customer["email"] and customer["phone"]


def test_seed_contact_data_is_fake(rows: Callable[[str], list[dict[str, Any]]]) -> None:
    for customer in rows("customers"):
        assert customer["email"].endswith("@example.com")
        assert customer["phone"].startswith("555-01")


def test_create_desk_twice_keeps_row_counts(desk: str) -> None:
    create_desk(desk)
    assert _counts(desk) == SEEDED


def test_create_desk_again_keeps_changed_rows(desk: str) -> None:
    with session(desk) as db:
        db.table("orders").update("1001", {"shipping_address": "1 New Road, Leeds"})
        db.table("refunds").insert({"idempotency_key": "k", "order_id": "1001", "amount_usd": 5.0})
    create_desk(desk)
    with session(desk) as db:
        assert db.table("orders").get("1001")["shipping_address"] == "1 New Road, Leeds"
        assert db.table("refunds").count == 1


def test_seed_timestamps_are_deterministic(tmp_path: Path) -> None:
    first, second = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    create_desk(first)
    create_desk(second)
    with session(first) as a, session(second) as b:
        query = "SELECT id, updated_at FROM orders ORDER BY id"
        assert list(a.query(query)) == list(b.query(query))


SIDE_EFFECT_ROWS: dict[str, dict[str, Any]] = {
    "outbox": {"idempotency_key": "same", "to_addr": "a@example.com", "subject": "s", "body": "b"},
    "refunds": {"idempotency_key": "same", "order_id": "1001", "amount_usd": 1.0},
    "address_changes": {"idempotency_key": "same", "order_id": "1001", "new_address": "1 New Road"},
}


@pytest.mark.parametrize("table", sorted(SIDE_EFFECT_ROWS))
def test_idempotency_key_is_unique(desk: str, table: str) -> None:
    with session(desk) as db:
        db.table(table).insert(SIDE_EFFECT_ROWS[table])
        with pytest.raises(sqlite3.IntegrityError):
            db.table(table).insert(SIDE_EFFECT_ROWS[table])


def test_kb_has_a_full_text_index(desk: str) -> None:
    with session(desk) as db:
        assert db.table("kb_articles").detect_fts() == "kb_articles_fts"


def test_create_desk_adds_order_notes_to_a_desk_made_before_them(desk: str) -> None:
    with session(desk) as db:
        db.table("orders").transform(drop={"notes"})
        db.table("orders").update("1001", {"shipping_address": "1 New Road, Leeds"})
        assert "notes" not in db.table("orders").columns_dict
    create_desk(desk)
    with session(desk) as db:
        order = db.table("orders").get("1001")
        assert order["notes"] == "" and order["shipping_address"] == "1 New Road, Leeds"
        assert db.table("orders").count == SEEDED["orders"]
