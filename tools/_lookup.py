"""Shared reads of desk rows and their units (time, cents), so every tool sees them the same way."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from safe_agent.tools.spec import ToolFailure


def utc_now() -> str:
    """Return the current UTC time as ISO 8601, the one timestamp format the desk stores."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def to_cents(amount_usd: float) -> int:
    """Convert dollars to whole cents so money comparisons never suffer float rounding."""
    return round(amount_usd * 100)


def load_order(db: sqlite_utils.Database, order_id: str) -> dict[str, Any]:
    """Return an order row with its items decoded, or raise ToolFailure("order_not_found")."""
    rows = list(db.query("SELECT * FROM orders WHERE id = ?", [order_id]))
    if not rows:
        raise ToolFailure("order_not_found", f"No order with id {order_id}.")
    order = dict(rows[0])
    order["items"] = json.loads(order["items"]) if order["items"] else []
    return order


def load_customer(db: sqlite_utils.Database, customer_id: str) -> dict[str, Any]:
    """Return a customer row, or raise ToolFailure("customer_not_found")."""
    rows = list(db.query("SELECT * FROM customers WHERE id = ?", [customer_id]))
    if not rows:
        raise ToolFailure("customer_not_found", f"No customer with id {customer_id}.")
    return dict(rows[0])


def refunded_cents(db: sqlite_utils.Database, order_id: str) -> int:
    """Return how much has already been refunded on an order, in cents."""
    rows = db.query("SELECT amount_usd FROM refunds WHERE order_id = ?", [order_id])
    return sum(to_cents(row["amount_usd"]) for row in rows)


def prior_effect(
    db: sqlite_utils.Database, table: str, idempotency_key: str
) -> dict[str, Any] | None:
    """Return the row a previous call with this idempotency key wrote, if there was one.

    Write tools check this first, inside their transaction, so a replayed call returns the
    first call's result instead of repeating the side effect.
    """
    rows = list(db.query(f"SELECT * FROM [{table}] WHERE idempotency_key = ?", [idempotency_key]))
    return dict(rows[0]) if rows else None
