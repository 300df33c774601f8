"""The CLI starts fast (issue 13): a regression that imports LangGraph for `--help` fails here.

One `bench.cli_startup.measure` run times the anchor (`sqlite-utils --help`) and our commands
interleaved, each a fresh process, on a small home it makes (a paused refund, two answers). The
targets are the issue's: `--help` within 1.5x the anchor of the same run, and `pending`, `audit`
and `spend` within 0.5 s (medians, after a warm-up round; the 0.5 s grows with the anchor when
the machine is busier than in the reference run, `bench.cli_startup.read_limit`). A second
check needs no clock: the modules `--help` loads must not include LangGraph, LangChain or the
graph.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.cli_startup import ANCHOR, HELP_RATIO_LIMIT, Timing, measure, read_limit
from safe_agent.cli import cli

HEAVY = (
    "langgraph",
    "langchain_core",
    "langchain",
    "langsmith",
    "safe_agent.facade",
    "safe_agent.graph.build",
    "safe_agent.checkpoints",
    "pydantic",
    "sqlite_utils",
)


@pytest.fixture(scope="module")
def timings() -> dict[str, Timing]:
    return measure(reps=5, warmup=1)


def test_help_loads_no_langgraph_langchain_or_stores() -> None:
    """What `safe-agent --help` imports: click and our command modules, nothing heavy."""
    code = (
        "import sys\nfrom safe_agent.cli import cli\n"
        "try:\n    cli(['--help'], prog_name='safe-agent')\nexcept SystemExit:\n    pass\n"
        "print('\\n' + __import__('json').dumps(sorted(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY or m in HEAVY)
    assert heavy == [], heavy


def test_import_safe_agent_is_cheap_and_still_exports_the_api() -> None:
    code = (
        "import sys, safe_agent\nassert 'langgraph' not in sys.modules, 'eager'\n"
        "from safe_agent import SafeAgent, build_services, load_config\n"
        "print(SafeAgent.__module__, 'langgraph' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["safe_agent.facade", "True"]


@pytest.mark.slow
def test_help_is_within_1_5x_sqlite_utils_help(timings: dict[str, Timing]) -> None:
    ours, anchor = timings["safe-agent --help"].median, timings[ANCHOR].median
    assert ours <= HELP_RATIO_LIMIT * anchor, f"--help {ours:.3f} s vs anchor {anchor:.3f} s"


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [
        "audit",
        "spend",
        pytest.param(
            "pending",
            marks=pytest.mark.xfail(
                strict=True,
                reason="pending still reads paused threads through the compiled graph (facade "
                "get_state): see the report of issue 13 item 5",
            ),
        ),
    ],
)
def test_read_only_commands_answer_within_half_a_second(
    timings: dict[str, Timing], command: str
) -> None:
    took, limit = timings[f"safe-agent {command}"], read_limit(timings)
    anchor = timings[ANCHOR].median
    assert took.median <= limit, (
        f"{command}: {took.seconds}, limit {limit:.2f}, anchor {anchor:.3f}"
    )


def test_audit_and_spend_answer_as_the_facade_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI reads the stores without building the agent: the same rows (a thread whose
    checkpoints are gone marked `thread_lost`) and the same spend report as `SafeAgent`."""
    from safe_agent import SafeAgent
    from safe_agent.stores.principals import PrincipalDirectory

    home = tmp_path / "home"
    monkeypatch.setenv("SAFE_AGENT_HOME", str(home))
    monkeypatch.delenv("SAFE_AGENT_CONFIG", raising=False)
    monkeypatch.delenv("SAFE_AGENT_DATABASE_URL", raising=False)
    with SafeAgent.open(home) as agent:
        kept = agent.run("How long does shipping take?", user_id="u-1", role="write").thread_id
        lost = agent.run("Please refund $25 on order 1001", user_id="u-1", role="write").thread_id
    with sqlite3.connect(home / "checkpoints.sqlite") as conn:  # a crash lost this thread
        conn.execute("DELETE FROM checkpoints WHERE thread_id = ?", (lost,))
        conn.execute("DELETE FROM writes WHERE thread_id = ?", (lost,))
    key = PrincipalDirectory(home / "principals.sqlite").bootstrap("ops-1", now=1.8e9)[1]
    env = {"SAFE_AGENT_API_KEY": key}
    shown = CliRunner().invoke(cli, ["audit", "--limit", "500", "--json"], env=env)
    spent = CliRunner().invoke(cli, ["spend", "--user", "u-1", "--json"], env=env)
    assert shown.exit_code == 0 and spent.exit_code == 0, shown.stderr + spent.stderr
    with SafeAgent.open(home) as agent:
        expected = json.loads(json.dumps(agent.audit(limit=500), default=str))
        report = agent.spend(user_id="u-1").to_dict()
    rows = json.loads(shown.stdout)
    assert rows == expected
    assert {r["thread_id"] for r in rows if r.get("thread_lost")} == {lost}
    assert any(r["thread_id"] == kept for r in rows)
    assert json.loads(spent.stdout) == json.loads(json.dumps(report, default=str))
    assert report["lines"][0]["spent_usd"] > 0
