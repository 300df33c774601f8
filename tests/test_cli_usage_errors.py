"""A usage error is like every other known error of the CLI: one line `Error: ...`, exit 1.

Click's default is three lines (usage, a hint, the error) and exit 2, which scripts that follow
docs/cli.md ("one line, exit 1") misread as an internal error. One case per kind of usage error
(unknown option, missing argument, bad choice or value, unknown command), in every command
group the `safe_agent/cli*.py` modules register, through the installed entry point.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from safe_agent.cli import cli

CASES = [
    # (argv, a word the one line must contain)
    (["--no-such-flag"], "--no-such-flag"),
    (["frobnicate"], "frobnicate"),
    (["run"], "MESSAGE"),
    (["run", "hi", "--bogus"], "--bogus"),
    (["pending", "--json", "extra"], "extra"),
    (["resume"], "THREAD_ID"),
    (["resume", "t-1", "--edit"], "--edit"),
    (["audit", "--limit", "0"], "--limit"),
    (["audit", "nope"], "nope"),
    (["audit", "retain", "--older-than", "x"], "--older-than"),
    (["principals"], None),  # a group without a subcommand prints its help: not an error
    (["principals", "add"], "PRINCIPAL_ID"),
    (["principals", "add", "bob", "--role", "god"], "god"),
    (["breakers", "reset"], "NAME"),
    (["breakers", "nope"], "nope"),
    (["keys", "rotate", "--what"], "--what"),
    (["tools", "--json", "--x"], "--x"),
    (["health", "--min-free-mb", "lots"], "lots"),
    (["switch-off", "tool:x"], "--reason"),
    (["spend", "--user"], "--user"),
    (["reconcile", "t-1", "--done", "--bad"], "--bad"),
    (["reconcile"], "THREAD_ID"),
]


@pytest.mark.parametrize(("argv", "needle"), [c for c in CASES if c[1] is not None])
def test_every_usage_error_is_one_line_and_exit_1(
    argv: list[str], needle: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFE_AGENT_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(cli, argv, prog_name="safe-agent")
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 1, (argv, result.exit_code, result.stderr)
    assert len(lines) == 1 and lines[0].startswith("Error: "), (argv, result.stderr)
    assert needle in lines[0], (argv, lines)
    assert result.stdout == "" and "Traceback" not in result.stderr


def test_a_usage_error_raised_by_a_command_is_one_line_too(keys_home: dict[str, str]) -> None:
    """`resume` checks its own flags (`UsageError` from inside the command): same shape."""
    env = {"SAFE_AGENT_API_KEY": keys_home["ops-1"]}
    result = CliRunner().invoke(cli, ["resume", "t-1"], env=env)
    assert result.exit_code == 1, result.stderr
    assert result.stderr.strip().splitlines() == [
        "Error: give exactly one of --approve, --reject, --respond or --edit JSON"
    ]


def test_help_and_version_still_exit_0() -> None:
    for argv in (["--help"], ["audit", "--help"], ["keys", "--help"], ["--version"]):
        result = CliRunner().invoke(cli, argv)
        assert result.exit_code == 0 and result.stdout, (argv, result.stderr)


@pytest.mark.slow
def test_the_installed_command_prints_one_line_and_exits_1(tmp_path: Path) -> None:
    """The console script, not only the click object: what a shell script sees."""
    script = Path(sys.executable).with_name("safe-agent")
    env = {**os.environ, "SAFE_AGENT_HOME": str(tmp_path)}
    done = subprocess.run(
        [str(script), "pending", "--nope"], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "--nope" in lines[0], lines
    assert done.stdout == ""


@pytest.fixture
def keys_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A home with one admin, so a command gets past identity to its own usage checks."""
    from safe_agent.settings import data_paths
    from safe_agent.stores.principals import PrincipalDirectory

    monkeypatch.setenv("SAFE_AGENT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SAFE_AGENT_API_KEY", raising=False)
    directory = PrincipalDirectory(data_paths().principals)
    return {"ops-1": directory.bootstrap("ops-1", now=1_800_000_000.0)[1]}
