"""`make demo` tells the whole story: each scenario's outcome comes from the real graph."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from safe_agent.cli import cli


@pytest.mark.slow
def test_demo_runs_every_scenario_offline(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["demo", "--home", str(tmp_path)])
    out = result.stdout
    assert result.exit_code == 0, out + result.stderr
    for expected in (
        "halted (prompt_injection)",
        "insufficient_role",
        "paused (approval_required)",
        "paused (approver_is_requester)",
        "(child exit 0) Refund",
        "refunds recorded for order 1001: 1",
        "refunds still 1",
        "halted (repeated_tool_call); $",
        "halted (max_iterations); $",
        "warning: soft limit: user u-200's daily budget reaches",
        "halted (user_daily_limit)",
        "[REDACTED_EMAIL]",
        "[REDACTED_PHONE]",
        "halted (run_cost_limit)",
        "hash chain: verifies",
        "Refund 2 of $20.0 for order 1004",
        "sweep expired: ['",
        "approval request expired unanswered",
        "paused (approval_required): the address change waits for a person",
        "provenance: new_address is untrusted (from search_kb",
        "address on file: 12 Analytical Way",
    ):
        assert expected in out, expected
    desk = tmp_path / "demo" / "desk.sqlite"
    assert sqlite3.connect(desk).execute(
        "select order_id, amount_usd from refunds order by id"
    ).fetchall() == [("1001", 25.0), ("1004", 20.0)]
