"""Fixtures for the desk tools: a freshly seeded desk file and call contexts on it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from safe_agent.stores._sqlite import session
from safe_agent.tools.desk import DESK_DB, create_desk
from safe_agent.tools.spec import ToolCallContext
from safe_agent.tools.support_desk import default_tools

CtxFactory = Callable[..., ToolCallContext]


@pytest.fixture
def desk(tmp_path: Path) -> str:
    """Create a seeded desk in a temporary folder and return its path."""
    path = str(tmp_path / "desk.db")
    create_desk(path)
    return path


@pytest.fixture
def make_ctx(desk: str) -> CtxFactory:
    """Return a factory of call contexts on the desk; each call id gets its own idempotency key."""

    def make(
        tool_call_id: str = "call-1", thread_id: str = "thread-1", user_id: str = "agent-1"
    ) -> ToolCallContext:
        return ToolCallContext.for_call(
            user_id, thread_id, tool_call_id, resources={DESK_DB: str(desk)}
        )

    return make


Call = Callable[[str, dict[str, Any], ToolCallContext], dict[str, Any]]
Rows = Callable[[str], list[dict[str, Any]]]


@pytest.fixture
def call() -> Call:
    """Return a runner that validates raw arguments with the tool's schema and runs it.

    It does so as the executor would.
    """
    tools = default_tools()

    def run(tool: str, raw_args: dict[str, Any], ctx: ToolCallContext) -> dict[str, Any]:
        spec = tools[tool]
        return spec.run(spec.validate_args(raw_args), ctx)

    return run


@pytest.fixture
def rows(desk: str) -> Rows:
    """Return a reader of every row of a desk table, in id order."""

    def read(table: str) -> list[dict[str, Any]]:
        with session(desk) as db:
            return [dict(row) for row in db.query(f"SELECT * FROM [{table}] ORDER BY id")]

    return read
