"""The support desk's SQLite schema: create it once, seed it, and never clobber live rows.

Tools act on real rows in a real file so the demo shows real side effects. Every side-effect
table carries a UNIQUE idempotency_key, which is what lets a retried call become a no-op.
"""

from __future__ import annotations

from pathlib import Path

import sqlite_utils

from safe_agent.stores._sqlite import immediate, session
from safe_agent.tools import _seed

DESK_DB = "desk_db_path"
"""The resource name under which the desk tools find their SQLite file."""

SIDE_EFFECT_TABLES = ("outbox", "refunds", "address_changes")


def create_desk(path: str | Path) -> None:
    """Create the desk's tables and seed rows, keeping any rows that already exist.

    Safe to call on every start-up: tables are created only when missing and seed rows are
    inserted with INSERT OR IGNORE, so edits made by tools (a changed address, a deleted
    customer) survive a re-run. Everything happens in one write transaction so two processes
    starting together cannot half-create the desk.
    """
    with session(path) as db, immediate(db):
        _create_tables(db)
        db["customers"].insert_all(_seed.CUSTOMERS, pk="id", ignore=True)
        db["orders"].insert_all(_seed.ORDERS, pk="id", ignore=True)
        db["kb_articles"].insert_all(_seed.KB_ARTICLES, pk="id", ignore=True)
        if not db["kb_articles_fts"].exists():
            db.table("kb_articles").enable_fts(
                ["title", "body"], create_triggers=True, tokenize="porter"
            )


def _create_tables(db: sqlite_utils.Database) -> None:
    """Create every desk table that is missing, with the constraints the tools rely on."""
    db.table("customers").create(
        {"id": str, "name": str, "email": str, "phone": str, "deleted": int},
        pk="id",
        not_null={"name", "deleted"},
        defaults={"deleted": 0},
        if_not_exists=True,
    )
    db.table("orders").create(
        {
            "id": str,
            "customer_id": str,
            "status": str,
            "items": str,
            "total_usd": float,
            "shipping_address": str,
            "updated_at": str,
            "notes": str,
        },
        pk="id",
        not_null={"customer_id", "status", "total_usd", "shipping_address", "notes"},
        defaults={"notes": ""},
        foreign_keys=[("customer_id", "customers", "id")],
        if_not_exists=True,
    )
    if "notes" not in db["orders"].columns_dict:  # a desk created before order notes existed
        db["orders"].add_column("notes", str, not_null_default="")
    db.table("kb_articles").create(
        {"id": str, "title": str, "body": str, "tags": str},
        pk="id",
        not_null={"title", "body"},
        if_not_exists=True,
    )
    db.table("outbox").create(
        {
            "id": int,
            "idempotency_key": str,
            "to_addr": str,
            "subject": str,
            "body": str,
            "sent_at": str,
        },
        pk="id",
        not_null={"idempotency_key", "to_addr", "subject", "body"},
        if_not_exists=True,
    )
    db.table("refunds").create(
        {
            "id": int,
            "idempotency_key": str,
            "order_id": str,
            "amount_usd": float,
            "reason": str,
            "created_at": str,
        },
        pk="id",
        not_null={"idempotency_key", "order_id", "amount_usd"},
        foreign_keys=[("order_id", "orders", "id")],
        if_not_exists=True,
    )
    db.table("address_changes").create(
        {
            "id": int,
            "idempotency_key": str,
            "order_id": str,
            "old_address": str,
            "new_address": str,
            "changed_at": str,
        },
        pk="id",
        not_null={"idempotency_key", "order_id", "new_address"},
        foreign_keys=[("order_id", "orders", "id")],
        if_not_exists=True,
    )
    for table in SIDE_EFFECT_TABLES:
        db.table(table).create_index(["idempotency_key"], unique=True, if_not_exists=True)
