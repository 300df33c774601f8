"""The one parser of fenced code blocks in README.md and docs/*.md, shared by the docs tests.

A block may be preceded by one HTML comment line that says how it is covered:
`<!-- not runnable: why -->` (skipped, and the why is checked), `<!-- run by tests/PATH -->` or
`<!-- config: loaded by tests/PATH -->` (another named test covers it), or `<!-- file: NAME -->`
(docs/tools.md: the block is written to NAME for the next block to use). Keeping the parser in
one place means every docs test agrees on what a block, its language and its marker are.
"""

from __future__ import annotations

import os
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(
    r"(?:^[ ]*<!-- (?P<marker>[^\n]*?) -->\n)?^(?P<indent>[ ]*)```(?P<lang>[\w+-]*)[^\n]*\n"
    r"(?P<code>.*?)^(?P=indent)```",
    re.S | re.M,
)
SHELL = frozenset({"bash", "sh", "shell", "console"})
"""Fence languages whose blocks are shell commands a reader pastes into a terminal."""
CHECKED = SHELL | {"python", "toml", "json"}
"""Fence languages every block of which must be run, loaded or marked."""


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its fence language, its code and its marker comment."""

    doc: str
    """The document's path relative to the repository root, e.g. `docs/cli.md`."""
    line: int
    """The 1-based line of the block's first code line, for error messages."""
    lang: str
    code: str
    marker: str | None
    """The text inside the `<!-- ... -->` line right above the fence, if any."""

    @property
    def where(self) -> str:
        """`docs/cli.md:63`, the place a failure message points at."""
        return f"{self.doc}:{self.line}"

    @property
    def not_runnable(self) -> str | None:
        """The reason after `not runnable:`, or None when the block is not marked so."""
        if self.marker is None or not self.marker.startswith("not runnable:"):
            return None
        return self.marker.removeprefix("not runnable:").strip()

    @property
    def covered_by(self) -> str | None:
        """The test file a `run by tests/...` or `config: loaded by tests/...` marker names."""
        found = re.match(r"(?:run by|config: loaded by) (tests/\S+?\.py)\b", self.marker or "")
        return found.group(1) if found else None

    @property
    def file_name(self) -> str | None:
        """NAME of a `file: NAME` marker: the block is written to that file, not run."""
        if self.marker is None or not self.marker.startswith("file:"):
            return None
        return self.marker.removeprefix("file:").strip()


def doc_paths() -> list[Path]:
    """README.md and every docs/*.md, the documents a reader pastes examples from."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def blocks(path: Path) -> list[Block]:
    """Every fenced block of one document, in page order."""
    text = path.read_text()
    doc = path.relative_to(ROOT).as_posix()
    return [
        Block(
            doc=doc,
            line=text.count("\n", 0, match.start("code")) + 1,
            lang=match["lang"],
            code=textwrap.dedent(match["code"]) if match["indent"] else match["code"],
            marker=match["marker"],
        )
        for match in BLOCK.finditer(text)
    ]


def all_blocks() -> list[Block]:
    """Every fenced block of every document, document by document."""
    return [block for path in doc_paths() for block in blocks(path)]


RUNNER = """
import json, sys, traceback
sys.path.insert(0, "")  # the working folder, as in an interactive interpreter
namespace = {"__name__": "__docs__"}
for step in json.load(open(sys.argv[1])):
    if step["kind"] == "write":
        open(step["path"], "w").write(step["code"])
        continue
    try:
        exec(compile(step["code"], step["where"], "exec"), namespace)
    except BaseException:
        traceback.print_exc()
        sys.exit(f"the block at {step['where']} failed")
"""
"""Runs a page's Python blocks in one fresh interpreter, in order, like a notebook: a later block
may use an earlier block's names. A `write` step writes a `file:` block to its NAME first."""


def run_step(block: Block) -> dict[str, str]:
    """The RUNNER step for one Python block."""
    return {"kind": "run", "code": block.code, "where": block.where}


def offline_env(home: Path, **extra: str) -> dict[str, str]:
    """This process's environment without provider, tracing or Safe Agent settings, data in home.

    A reader's own keys or config must not leak into a docs example run by a test, and no
    example may reach the network: without `OPENAI_API_KEY` the offline model answers.
    """
    dropped = ("OPENAI_", "SAFE_AGENT_", "LANGSMITH_", "LANGCHAIN_", "LANGGRAPH_", "ANTHROPIC_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env.update(SAFE_AGENT_HOME=str(home), LANGSMITH_TRACING="false", **extra)
    return env
