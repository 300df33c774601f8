"""Render the generated parts of `docs/agent-safety.md` from the live code, and check them.

A safety review reads that document as the truth about what the agent may do, what it costs and
what it records; hand-copied tables would drift from the code the day a default changes. So the
tool matrix is rendered from the loaded tool set and the approval policy, the cost controls
from the config models' defaults and field docstrings, and the audit schema from a real audit
store created in a temporary folder. Each block sits between `<!-- generated: NAME -->` and
`<!-- end generated -->`; everything outside the markers is written by hand.

    python -m safe_agent.safety_doc --write   # regenerate the blocks in place
    python -m safe_agent.safety_doc --check   # exit 1, one line, when a block is stale
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from safe_agent.policies.config import SafetyConfig
from safe_agent.safety_doc_schema import render_audit, render_costs
from safe_agent.safety_doc_tools import approval_text, render_tools
from safe_agent.tools.spec import ToolSpec

__all__ = [
    "DocError",
    "approval_text",
    "main",
    "refresh",
    "render_audit",
    "render_blocks",
    "render_costs",
    "render_tools",
    "stale_blocks",
]

DOC_PATH = Path("docs") / "agent-safety.md"
BLOCK = re.compile(r"(<!-- generated: (\w+) -->\n)(.*?)(<!-- end generated -->)", re.S)


class DocError(Exception):
    """The document cannot be read or lacks a block: reported in one line, never a traceback."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 1, as everywhere in the CLI."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        print(f"safety_doc: {message} (see --help)", file=sys.stderr)
        raise SystemExit(1)


def render_blocks(
    config: SafetyConfig | None = None, tools: Mapping[str, ToolSpec] | None = None
) -> dict[str, str]:
    """Render every generated block for `config` (default: the shipped defaults) and its tools."""
    from safe_agent.settings import load_tool_set

    config = config or SafetyConfig()
    tools = load_tool_set(config) if tools is None else tools
    return {
        "tools": render_tools(tools, config),
        "costs": render_costs(config),
        "audit": render_audit(),
    }


def _blocks(text: str) -> dict[str, str]:
    return {m.group(2): m.group(3) for m in BLOCK.finditer(text)}


def stale_blocks(text: str, blocks: Mapping[str, str]) -> list[str]:
    """Names of the blocks whose text differs from a fresh render, or that the document lacks."""
    found = _blocks(text)
    return [name for name, body in blocks.items() if found.get(name) != body]


def refresh(text: str, blocks: Mapping[str, str]) -> str:
    """Replace the body of every generated block; a block the document lacks is an error."""
    missing = [name for name in blocks if name not in _blocks(text)]
    if missing:
        raise DocError(
            f"no generated block for {', '.join(missing)} (add '<!-- generated: NAME -->' "
            "... '<!-- end generated -->')"
        )
    return BLOCK.sub(lambda m: m.group(1) + blocks.get(m.group(2), m.group(3)) + m.group(4), text)


def main(argv: Sequence[str] | None = None) -> int:
    """`--write` regenerates the blocks in place; `--check` exits 1 naming the stale ones."""
    parser = _Parser(prog="python -m safe_agent.safety_doc", description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument(
        "--write", action="store_true", help="regenerate the generated blocks in place"
    )
    mode.add_argument("--check", action="store_true", help="exit 1 if a generated block is stale")
    parser.add_argument("--doc", default=str(DOC_PATH), help=f"the document (default {DOC_PATH})")
    args = parser.parse_args(argv)
    doc = Path(args.doc)
    try:
        try:
            text = doc.read_text()
        except OSError as exc:
            raise DocError(f"cannot read {doc}: {exc.strerror or exc}") from None
        blocks = render_blocks()
        fresh = refresh(text, blocks)
        if args.check:
            stale = stale_blocks(text, blocks)
            if stale:
                raise DocError(
                    f"{doc} is stale: generated block(s) {', '.join(stale)} differ from the code; "
                    "run: python -m safe_agent.safety_doc --write"
                )
            return 0
        if fresh != text:
            doc.write_text(fresh)
        return 0
    except DocError as exc:
        print(f"safety_doc: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
