"""Layering rules: policies are pure; only audit and execute_tool write the audit store.

Nodes stay short.
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


NODE_MAX_LOGICAL_LINES = 65
"""A node reads, decides via a policy, records and returns: at most this many statements."""
MODULE_MAX_LOGICAL_LINES = 210
"""Every module of the package stays small enough to read in one sitting."""
GENERIC = {"graph", "nodes", "policies", "stores", "tools"}
"""The repo's folders that the distribution installs as `safe_agent.<name>`, never top-level."""


def _modules(path: Path) -> set[str]:
    """Every module `path` imports, as written."""
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def _imports(path: Path) -> set[str]:
    """The first name of each import, `safe_agent.` taken off (`safe_agent.stores.x` -> stores)."""
    return {m.removeprefix("safe_agent.").split(".")[0] for m in _modules(path)}


def test_nothing_imports_a_generic_top_level_name() -> None:
    """`graph`, `nodes`, `tools`... are the user's names too (issue 13): only `safe_agent.*`."""
    folders = [*GENERIC, "safe_agent", "tests", "bench"]
    offenders = {
        str(path.relative_to(ROOT)): sorted(m for m in _modules(path) if m.split(".")[0] in GENERIC)
        for folder in folders
        for path in (ROOT / folder).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_policies_do_no_io_and_know_no_langgraph() -> None:
    for path in (ROOT / "policies").glob("*.py"):
        banned = _imports(path) & {
            "langgraph",
            "sqlite_utils",
            "sqlite3",
            "time",
            "os",
            "stores",
            "nodes",
            "graph",
        }
        assert not banned, f"{path.name} imports {banned}"


def test_only_audit_and_execute_tool_write_the_audit_log() -> None:
    writers = {p.stem for p in (ROOT / "nodes").glob("*.py") if "audit.append(" in p.read_text()}
    assert writers == {"audit", "execute_tool"}


def _logical_lines(path: Path) -> int:
    """Statements and docstrings, not physical lines: the formatter's layout (one argument per
    line once a call no longer fits) does not count, only how much a module does."""
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
    return sum(1 for token in tokens if token.type == tokenize.NEWLINE)


def test_nodes_are_short_and_modules_bounded() -> None:
    for path in (ROOT / "nodes").glob("[!_]*.py"):
        assert _logical_lines(path) <= NODE_MAX_LOGICAL_LINES, path.name
    for folder in ("graph", "nodes", "policies", "stores", "tools", "safe_agent"):
        for path in (ROOT / folder).glob("*.py"):
            assert _logical_lines(path) <= MODULE_MAX_LOGICAL_LINES, path
