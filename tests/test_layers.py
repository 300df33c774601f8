"""Layering rules: policies are pure; only audit and execute_tool write the audit store; nodes stay short."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_policies_do_no_io_and_know_no_langgraph() -> None:
    for path in (ROOT / "policies").glob("*.py"):
        banned = _imports(path) & {"langgraph", "sqlite_utils", "sqlite3", "time", "os", "stores", "nodes", "graph"}
        assert not banned, f"{path.name} imports {banned}"


def test_only_audit_and_execute_tool_write_the_audit_log() -> None:
    writers = {p.stem for p in (ROOT / "nodes").glob("*.py") if "audit.append(" in p.read_text()}
    assert writers == {"audit", "execute_tool"}


def test_nodes_are_short_and_modules_bounded() -> None:
    for path in (ROOT / "nodes").glob("[!_]*.py"):
        assert len(path.read_text().splitlines()) <= 110, path.name
    for folder in ("graph", "nodes", "policies", "stores", "tools", "safe_agent"):
        for path in (ROOT / folder).glob("*.py"):
            assert len(path.read_text().splitlines()) <= 300, path
