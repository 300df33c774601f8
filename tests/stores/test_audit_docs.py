"""docs/audit.md: its config block is a valid `[audit]` section, and every shell block is marked."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from safe_agent.policies.config import SafetyConfig

DOC = (Path(__file__).resolve().parents[2] / "docs" / "audit.md").read_text()


def test_the_config_block_validates() -> None:
    [block] = re.findall(r"```toml\n(.*?)```", DOC, re.S)
    config = SafetyConfig.model_validate(tomllib.loads(block))
    assert config.audit.retention_days == 365


def test_every_shell_block_runs_or_says_why_not() -> None:
    """An unmarked block is executed by tests/test_docs_blocks.py; a marked one must say why."""
    markers = re.findall(r"(?:<!-- not runnable: ([^>]*)-->\n)?```bash\n", DOC)
    assert len(markers) >= 4
    assert all(len(reason.split()) >= 3 for reason in markers if reason)
