"""The demo desk's seed rows: fictional customers, orders (with customer notes) and help articles.

All contact data is fake (example.com addresses, 555-01xx numbers) and all timestamps are fixed,
so a fresh desk is byte-for-byte the same on every machine and tests can name rows by id.
"""

from __future__ import annotations

from typing import Any

CUSTOMERS: list[dict[str, Any]] = [
    {
        "id": "C-100",
        "name": "Ada Lovelace",
        "email": "ada.lovelace@example.com",
        "phone": "555-0100",
        "deleted": 0,
    },
    {
        "id": "C-101",
        "name": "Grace Hopper",
        "email": "grace.hopper@example.com",
        "phone": "555-0101",
        "deleted": 0,
    },
    {
        "id": "C-102",
        "name": "Alan Turing",
        "email": "alan.turing@example.com",
        "phone": "555-0102",
        "deleted": 0,
    },
    {
        "id": "C-103",
        "name": "Katherine Johnson",
        "email": "katherine.johnson@example.com",
        "phone": "555-0103",
        "deleted": 0,
    },
    {
        "id": "C-104",
        "name": "Edsger Dijkstra",
        "email": "edsger.dijkstra@example.com",
        "phone": "555-0104",
        "deleted": 0,
    },
]


def _item(sku: str, name: str, qty: int, unit_price_usd: float) -> dict[str, Any]:
    """Build one order line."""
    return {"sku": sku, "name": name, "qty": qty, "unit_price_usd": unit_price_usd}


ORDERS: list[dict[str, Any]] = [
    {
        "id": "1001",
        "customer_id": "C-100",
        "status": "processing",
        "items": [
            _item("SOCK-WL", "Merino hiking socks", 2, 14.95),
            _item("LAMP-HD", "Rechargeable headlamp", 1, 60.00),
        ],
        "total_usd": 89.90,
        "shipping_address": "12 Analytical Way, Apt 3, London, N1 9GU, UK",
        "updated_at": "2025-03-01T09:15:00+00:00",
        "notes": "",
    },
    {
        "id": "1002",
        "customer_id": "C-101",
        "status": "shipped",
        "items": [_item("BOTL-TR", "Trail water bottle", 2, 24.50)],
        "total_usd": 49.00,
        "shipping_address": "400 Cobol Street, Arlington, VA 22201, USA",
        "updated_at": "2025-02-27T16:40:00+00:00",
        "notes": "Please ring the bell twice, the buzzer is broken.",
    },
    {
        "id": "1003",
        "customer_id": "C-100",
        "status": "delivered",
        "items": [_item("JCKT-RN", "Packable rain jacket", 1, 129.00)],
        "total_usd": 129.00,
        "shipping_address": "12 Analytical Way, Apt 3, London, N1 9GU, UK",
        "updated_at": "2025-02-10T11:05:00+00:00",
        "notes": "",
    },
    {
        "id": "1004",
        "customer_id": "C-102",
        "status": "processing",
        "items": [
            _item("TENT-2P", "Two-person tent", 1, 249.00),
            _item("STKE-AL", "Aluminium tent stakes (8)", 1, 18.00),
        ],
        "total_usd": 267.00,
        "shipping_address": "7 Enigma Road, Wilmslow, SK9 4AX, UK",
        "updated_at": "2025-03-02T08:30:00+00:00",
        "notes": "It is a gift: please leave the invoice out of the parcel.",
    },
    {
        "id": "1005",
        "customer_id": "C-103",
        "status": "shipped",
        "items": [_item("PACK-30", "30 L daypack", 1, 79.95)],
        "total_usd": 79.95,
        "shipping_address": "1 Orbit Lane, Hampton, VA 23666, USA",
        "updated_at": "2025-02-28T13:20:00+00:00",
        "notes": "",
    },
    {
        "id": "1006",
        "customer_id": "C-104",
        "status": "delivered",
        "items": [
            _item("STOV-GS", "Camping gas stove", 1, 54.00),
            _item("MUG-TI", "Titanium mug", 2, 22.00),
        ],
        "total_usd": 98.00,
        "shipping_address": "Shortest Path 5, 5671 Nuenen, Netherlands",
        "updated_at": "2025-01-20T10:00:00+00:00",
        "notes": "",
    },
]

KB_ARTICLES: list[dict[str, Any]] = [
    {
        "id": "KB-001",
        "title": "Refund policy",
        "body": (
            "We refund any order within 30 days of delivery. A refund can be for part of the order or "
            "for the whole order, up to the order total; the sum of all refunds on an order never exceeds "
            "what the customer paid. Refunds go back to the original payment method and usually appear "
            "within 5 to 10 business days. Shipping costs are refunded only when the item arrived damaged "
            "or we sent the wrong item."
        ),
        "tags": ["refund", "billing", "policy"],
    },
    {
        "id": "KB-002",
        "title": "Shipping times",
        "body": (
            "Orders are processed within 1 to 2 business days. Standard shipping takes 3 to 5 business days "
            "within the country and 7 to 14 business days internationally. Express shipping takes 1 to 2 "
            "business days. Once an order has shipped the customer receives a tracking number by email."
        ),
        "tags": ["shipping", "delivery"],
    },
    {
        "id": "KB-003",
        "title": "Changing the shipping address",
        "body": (
            "The shipping address can be changed while the order is still processing. Once the order has "
            "shipped or been delivered the address can no longer be changed; the customer may instead refuse "
            "the parcel or ask the carrier to redirect it. Always confirm the new address with the customer "
            "before updating it."
        ),
        "tags": ["shipping", "address", "order"],
    },
    {
        "id": "KB-004",
        "title": "Resetting a password",
        "body": (
            "Customers reset their password themselves from the sign-in page by choosing 'Forgot password' "
            "and following the link emailed to them; the link expires after 1 hour. Support agents never ask "
            "for, read out, or set a customer's password, and never send passwords by email."
        ),
        "tags": ["account", "password", "security"],
    },
    {
        "id": "KB-005",
        "title": "Returns",
        "body": (
            "Unused items can be returned within 30 days of delivery in their original packaging. The customer "
            "requests a return label from support; return shipping is free for damaged or wrong items. A refund "
            "is issued once the returned item reaches our warehouse and passes inspection."
        ),
        "tags": ["returns", "refund"],
    },
    {
        "id": "KB-006",
        "title": "Warranty",
        "body": (
            "All products carry a 2-year warranty against manufacturing defects from the date of delivery. "
            "Normal wear and tear, accidents and misuse are not covered. For a warranty claim ask the customer "
            "for the order number and a photo of the defect; we repair, replace or refund the item."
        ),
        "tags": ["warranty", "defect", "repair"],
    },
    {
        "id": "KB-007",
        "title": "Contact hours",
        "body": (
            "Support is open Monday to Friday, 08:00 to 20:00, and Saturday 09:00 to 14:00 (UK time). "
            "Outside these hours customers can email support and receive a reply within one business day. "
            "Phone support is available during opening hours only."
        ),
        "tags": ["contact", "hours", "support"],
    },
    {
        "id": "KB-008",
        "title": "Data deletion requests",
        "body": (
            "Customers may ask us to delete their personal data. Only an administrator may carry out a deletion, "
            "after verifying the request came from the account holder. Deletion erases name, email and phone "
            "and cannot be undone; order records are kept, anonymised, for tax purposes."
        ),
        "tags": ["privacy", "gdpr", "account", "deletion"],
    },
]
