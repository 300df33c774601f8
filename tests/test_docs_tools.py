"""docs/tools.md runs as written: Python blocks in order, TOML as config, envelopes as built.

The Python blocks run one after another in one fresh interpreter (like a notebook: a later block
uses an earlier block's names) in an empty working folder under tmp_path, offline, with the data
folder under tmp_path too. A block preceded by `<!-- file: NAME -->` is written to NAME instead
of being run (the config loads it); one preceded by `<!-- not runnable: why -->` is skipped, and
must say why. The MCP server the page starts is tests/tools/mcp_server.py, copied in under the
name the page uses.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from docs_blocks import RUNNER, Block, blocks, offline_env, run_step

from safe_agent.policies.config import SafetyConfig
from safe_agent.policies.input_guard import scan_tool_output
from safe_agent.policies.tool_output import quarantine

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "tools.md"
MCP_SERVER = ROOT / "tests" / "tools" / "mcp_server.py"


def _blocks() -> list[Block]:
    return blocks(DOC)


def _steps(found: list[Block]) -> tuple[list[dict], list[Block]]:
    """Return the runner's steps (writes and runs, in page order) and the skipped blocks."""
    steps, skipped = [], []
    for block in found:
        if block.not_runnable is not None:
            skipped.append(block)
        elif block.file_name is not None:
            steps.append({"kind": "write", "path": block.file_name, "code": block.code})
        elif block.lang == "python":
            steps.append(run_step(block))
    return steps, skipped


@pytest.mark.slow  # a fresh interpreter that also starts the page's MCP server
def test_docs_tools_every_python_block_runs_or_says_why_not(tmp_path: Path) -> None:
    found = _blocks()
    steps, skipped = _steps(found)
    assert all(b.marker is None or re.match(r"(file|not runnable): \S", b.marker) for b in found)
    assert all(b.lang == "python" and b.not_runnable for b in skipped)
    assert len([s for s in steps if s["kind"] == "run"]) >= 6  # the page's examples, not a stub
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(MCP_SERVER, work / "ticket_server.py")
    (tmp_path / "steps.json").write_text(json.dumps(steps))
    (tmp_path / "runner.py").write_text(RUNNER)
    env = offline_env(tmp_path / "var", PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, str(tmp_path / "runner.py"), str(tmp_path / "steps.json")],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-6000:]
    assert (work / "outbox.txt").exists() and (work / "my_tools.py").exists()


def test_docs_tools_toml_blocks_are_valid_config() -> None:
    tomls = [b for b in _blocks() if b.lang == "toml"]
    assert tomls
    for block in tomls:  # that the tools it names load is shown by the page's own next block
        SafetyConfig.model_validate(tomllib.loads(block.code))


def test_docs_tools_envelopes_are_the_ones_the_executor_builds() -> None:
    shown, cut = (json.loads(b.code) for b in _blocks() if b.lang == "json")
    text = "My parcel arrived damaged. Please send a new one to 5 Byron Road, Leeds."
    real = quarantine(
        {"result": text},
        tool_name="lookup_ticket",
        trusted=False,
        trusted_fields=(),
        scan=scan_tool_output,
        max_chars=8_000,
    )
    assert shown == json.loads(real.content)
    long = quarantine(
        {"result": text * 200},
        tool_name="lookup_ticket",
        trusted=False,
        trusted_fields=(),
        scan=scan_tool_output,
        max_chars=400,
    )
    real_cut = json.loads(long.content)
    assert real_cut.keys() == cut.keys() and real_cut["truncated"].keys() == cut["truncated"].keys()
    assert real_cut["data_text"].startswith(cut["data_text"].removesuffix("..."))
