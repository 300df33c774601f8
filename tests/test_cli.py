"""The CLI mirrors the facade: every command works, speaks JSON, and fails in one line."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from safe_agent.cli import cli


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cli_run_answers_in_json() -> None:
    code, out, _ = _run("run", "How long does shipping take?", "--user", "u-1", "--role", "read", "--json")
    data = json.loads(out)
    assert code == 0 and data["status"] == "answered" and "shipping" in data["answer"].lower()


def test_cli_pending_resume_audit_round_trip(tmp_path: Path) -> None:
    code, out, _ = _run("run", "Please refund $25 on order 1001", "--user", "u-123", "--role", "write", "--json")
    paused = json.loads(out)
    assert code == 0 and paused["status"] == "paused"
    code, out, _ = _run("pending", "--json")
    assert [p["thread_id"] for p in json.loads(out)] == [paused["thread_id"]]
    code, out, err = _run("resume", paused["thread_id"], "--approve", "--as", "u-123", "--role", "write", "--json")
    assert code == 0 and json.loads(out)["reason_code"] == "approver_is_requester"
    code, out, _ = _run("resume", paused["thread_id"], "--approve", "--as", "approver-7", "--json")
    assert code == 0 and json.loads(out)["status"] == "answered"
    code, out, _ = _run("audit", "--thread", paused["thread_id"], "--json")
    rows = json.loads(out)
    assert any(r["kind"] == "approval_decision" and r["approver_id"] == "approver-7" for r in rows)
    code, out, _ = _run("audit", "--verify")
    assert code == 0 and "verifies" in out


def test_cli_edit_runs_edited_arguments() -> None:
    _, out, _ = _run("run", "Please refund $25 on order 1001", "--user", "u-123", "--role", "write", "--json")
    thread = json.loads(out)["thread_id"]
    edit = json.dumps({"order_id": "1001", "amount_usd": 10.0, "reason": "partial"})
    code, out, _ = _run("resume", thread, "--edit", edit, "--as", "approver-7", "--json")
    assert code == 0 and json.loads(out)["status"] == "answered"
    _, out, _ = _run("audit", "--thread", thread, "--json")
    execution = next(r for r in json.loads(out) if r["kind"] == "tool_execution")
    assert execution["input"]["args"]["amount_usd"] == 10.0


@pytest.mark.parametrize(
    "args, needle",
    [
        (["resume", "nope", "--approve", "--as", "a"], "nothing_to_resume"),
        (["run", "hi", "--user", "", "--role", "read"], "invalid_input"),
        (["resume", "t", "--as", "a"], "exactly one of"),
        (["resume", "t", "--edit", "{not json", "--as", "a"], "not valid JSON"),
        (["run", "hi", "--user", "u", "--role", "root"], "Invalid value for '--role'"),
    ],
    ids=["unknown-thread", "empty-user", "no-decision", "bad-edit-json", "bad-role"],
)
def test_cli_errors_are_one_line_without_traceback(args: list[str], needle: str) -> None:
    code, out, err = _run(*args)
    assert code != 0
    assert needle in err
    assert "Traceback" not in out + err


def test_cli_bad_config_file_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[budget]\niterations_limit = -3\n")
    monkeypatch.setenv("SAFE_AGENT_CONFIG", str(bad))
    code, out, err = _run("run", "hi", "--user", "u", "--role", "read")
    assert code == 1 and "config_error" in err and "budget.iterations_limit" in err and "Traceback" not in err


def test_cli_graph_prints_mermaid_of_all_nodes() -> None:
    code, out, _ = _run("graph")
    assert code == 0 and out.count("(") >= 9 and "approval" in out and "graph TD" in out


def test_cli_console_script_runs_in_a_real_process(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "safe_agent", "run", "What is the refund policy?", "--user", "u",
                           "--role", "read", "--home", str(tmp_path), "--json"], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "answered"
    assert sqlite3.connect(tmp_path / "audit.sqlite").execute("select count(*) from audit_events").fetchone()[0] > 0
