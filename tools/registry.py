"""The one list of tools the agent may know about: a tool not named here does not exist."""

from __future__ import annotations

from tools import delete_customer, get_order, issue_refund, search_kb, send_email, update_shipping_address
from tools.spec import ToolSpec

_SPECS: tuple[ToolSpec, ...] = (
    search_kb.SPEC,
    get_order.SPEC,
    update_shipping_address.SPEC,
    send_email.SPEC,
    issue_refund.SPEC,
    delete_customer.SPEC,
)

ALL_TOOL_NAMES: tuple[str, ...] = tuple(spec.name for spec in _SPECS)


def default_tools() -> dict[str, ToolSpec]:
    """Return a fresh name-to-spec map of all six desk tools, so callers may filter it freely."""
    return {spec.name: spec for spec in _SPECS}
