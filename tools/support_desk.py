"""The demo's tool pack: an online shop's support desk (orders, refunds, e-mail, help centre).

It is one example of a `ToolPack`, loaded by default (`[tools] load`). Its tools act on a SQLite
desk under the data folder, created only when this pack is in use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from safe_agent.tools import (
    delete_customer,
    get_order,
    issue_refund,
    search_kb,
    send_email,
    update_shipping_address,
)
from safe_agent.tools.desk import DESK_DB, create_desk
from safe_agent.tools.pack import ToolPack
from safe_agent.tools.spec import ToolSpec

_SPECS: tuple[ToolSpec, ...] = (
    search_kb.SPEC,
    get_order.SPEC,
    update_shipping_address.SPEC,
    send_email.SPEC,
    issue_refund.SPEC,
    delete_customer.SPEC,
)

ALL_TOOL_NAMES: tuple[str, ...] = tuple(spec.name for spec in _SPECS)

SYSTEM_PROMPT = """You are a support-operations assistant for an online shop.
Use the tools to look things up and to act. Only call a tool when it is needed, with arguments
that match its schema. Some actions need a person's approval or a role the user lacks: if a tool
call is denied or rejected, explain that to the user instead of retrying it. Answer concisely."""


def _setup(root: Path) -> dict[str, Any]:
    """Create (or keep) the desk file under the data folder and hand its path to the tools."""
    path = root / "desk.sqlite"
    create_desk(path)
    return {DESK_DB: str(path)}


PACK = ToolPack(name="support_desk", tools=_SPECS, system_prompt=SYSTEM_PROMPT, setup=_setup)


def default_tools() -> dict[str, ToolSpec]:
    """Return a fresh name-to-spec map of the six desk tools, so callers may filter it freely."""
    return {spec.name: spec for spec in _SPECS}
