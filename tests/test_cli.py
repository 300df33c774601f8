"""The CLI mirrors the facade, acts only as the principal of an API key, and fails in one line."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from safe_agent.cli import cli
from safe_agent.settings import data_paths
from safe_agent.stores.principals import PrincipalDirectory

NOW = 1_800_000_000.0
REFUND = "Please refund $25 on order 1001"
PEOPLE = {"ops-1": "admin", "u-1": "read", "u-123": "write", "w-2": "write", "approver-7": "admin"}


@pytest.fixture(autouse=True)
def _no_ambient_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """A key in the developer's shell must not make a test pass."""
    monkeypatch.delenv("SAFE_AGENT_API_KEY", raising=False)


@pytest.fixture
def keys() -> dict[str, str]:
    """Principals of the test home (ops-1 bootstrapped) and their API keys."""
    directory = PrincipalDirectory(data_paths().principals)
    issued = {"ops-1": directory.bootstrap("ops-1", now=NOW)[1]}
    for pid, role in PEOPLE.items():
        if pid not in issued:
            issued[pid] = directory.add(pid, role=role, now=NOW)[1]
    return issued


@pytest.fixture
def single_operator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "single.toml"
    config.write_text("[identity]\nsingle_operator = true\n")
    monkeypatch.setenv("SAFE_AGENT_CONFIG", str(config))


def _run(*args: str, key: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env={"SAFE_AGENT_API_KEY": key})
    return result.exit_code, result.stdout, result.stderr


def _one_line_error(code: int, out: str, err: str, needle: str) -> None:
    assert code == 1, (code, out, err)
    assert needle in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in out + err


def _paused(keys: dict[str, str], who: str = "u-123") -> str:
    code, out, err = _run("run", REFUND, "--json", key=keys[who])
    assert code == 0 and json.loads(out)["status"] == "paused", err
    return json.loads(out)["thread_id"]


def test_cli_run_answers_in_json_as_the_key_holder(keys: dict[str, str]) -> None:
    code, out, _ = _run("run", "How long does shipping take?", "--json", key=keys["u-1"])
    data = json.loads(out)
    assert code == 0 and data["status"] == "answered" and "shipping" in data["answer"].lower()
    _, out, _ = _run("audit", "--thread", data["thread_id"], "--json", key=keys["ops-1"])
    assert {r["user_id"] for r in json.loads(out) if r.get("user_id")} == {"u-1"}


def test_cli_read_key_cannot_refund(keys: dict[str, str]) -> None:
    code, out, _ = _run("run", REFUND, "--json", key=keys["u-1"])
    assert code == 0 and "insufficient_role" in json.loads(out)["answer"]


def test_cli_pending_resume_audit_round_trip(keys: dict[str, str]) -> None:
    thread = _paused(keys)
    code, out, _ = _run("pending", "--json", key=keys["ops-1"])
    assert [p["thread_id"] for p in json.loads(out)] == [thread]
    code, out, _ = _run("resume", thread, "--approve", "--json", key=keys["u-123"])
    assert code == 0 and json.loads(out)["reason_code"] == "approver_is_requester"
    code, out, _ = _run("resume", thread, "--approve", "--json", key=keys["approver-7"])
    assert code == 0 and json.loads(out)["status"] == "answered"
    code, out, _ = _run("audit", "--thread", thread, "--json", key=keys["ops-1"])
    rows = json.loads(out)
    assert any(r["kind"] == "approval_decision" and r["approver_id"] == "approver-7" for r in rows)
    code, out, _ = _run("audit", "--verify", key=keys["ops-1"])
    assert code == 0 and "verifies" in out


def test_cli_pending_shows_others_only_what_they_may_approve_or_own(keys: dict[str, str]) -> None:
    thread = _paused(keys)  # irreversible refund: approver needs the write role
    seen = {
        who: [p["thread_id"] for p in json.loads(_run("pending", "--json", key=keys[who])[1])]
        for who in ("u-123", "w-2", "u-1", "ops-1")
    }
    assert seen == {"u-123": [thread], "w-2": [thread], "u-1": [], "ops-1": [thread]}


def test_cli_edit_runs_edited_arguments(keys: dict[str, str]) -> None:
    thread = _paused(keys)
    edit = json.dumps({"order_id": "1001", "amount_usd": 10.0, "reason": "partial"})
    code, out, _ = _run("resume", thread, "--edit", edit, "--json", key=keys["approver-7"])
    assert code == 0 and json.loads(out)["status"] == "answered"
    _, out, _ = _run("audit", "--thread", thread, "--json", key=keys["ops-1"])
    execution = next(r for r in json.loads(out) if r["kind"] == "tool_execution")
    assert execution["input"]["args"]["amount_usd"] == 10.0


def test_cli_resume_without_a_credential_fails_in_one_line(keys: dict[str, str]) -> None:
    thread = _paused(keys)
    code, out, err = _run("resume", thread, "--approve")
    _one_line_error(code, out, err, "unauthenticated: set SAFE_AGENT_API_KEY or pass --key-file")
    _, out, _ = _run("pending", "--json", key=keys["ops-1"])
    assert [p["thread_id"] for p in json.loads(out)] == [thread]  # still paused


@pytest.mark.parametrize(
    "bad_key",
    ["sa_nope", "sa_0123456789ab_" + "A" * 43, "rotated", "revoked"],
    ids=["malformed", "unknown", "rotated", "revoked"],
)
def test_cli_bad_key_is_unauthenticated(keys: dict[str, str], bad_key: str) -> None:
    directory = PrincipalDirectory(data_paths().principals)
    if bad_key == "rotated":
        bad_key = keys["u-123"]
        directory.rotate("u-123", now=NOW)
    elif bad_key == "revoked":
        bad_key = keys["u-123"]
        directory.revoke("u-123", now=NOW)
    code, out, err = _run("run", REFUND, key=bad_key)
    _one_line_error(code, out, err, "unauthenticated: the API key is not valid")
    assert bad_key not in out + err


def test_cli_key_file_first_line_is_the_key(keys: dict[str, str], tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(f"  {keys['u-1']}  \nignored second line\n")
    code, out, _ = _run("run", "What is the refund policy?", "--key-file", str(key_file), "--json")
    assert code == 0 and json.loads(out)["status"] == "answered"
    code, out, err = _run("run", "hi", "--key-file", str(tmp_path / "missing"))
    _one_line_error(code, out, err, "unauthenticated: cannot read key file")


def test_cli_as_must_match_the_key(keys: dict[str, str]) -> None:
    code, out, err = _run("run", "hi", "--as", "ops-1", key=keys["u-1"])
    _one_line_error(code, out, err, "identity_mismatch: the key belongs to u-1, not ops-1")
    code, out, _ = _run("run", "hi", "--as", "U-1", "--json", key=keys["u-1"])
    assert code == 0


def test_cli_as_alone_needs_a_single_operator_home(keys: dict[str, str]) -> None:
    code, out, err = _run("run", "hi", "--as", "ops-1")
    needle = "unauthenticated: --as without a key needs [identity] single_operator"
    _one_line_error(code, out, err, needle)


def test_cli_single_operator_takes_the_role_from_the_directory(
    keys: dict[str, str], single_operator: None
) -> None:
    code, out, _ = _run("run", REFUND, "--as", "u-1", "--json")  # u-1 is read in the directory
    assert code == 0 and "insufficient_role" in json.loads(out)["answer"]
    code, out, err = _run("run", "hi", "--as", "stranger")
    _one_line_error(code, out, err, "unauthenticated: no principal 'stranger'")
    PrincipalDirectory(data_paths().principals).revoke("u-1", now=NOW)
    code, out, err = _run("run", "hi", "--as", "u-1")
    _one_line_error(code, out, err, "unauthenticated: principal u-1 is revoked")


@pytest.mark.parametrize(
    "variant", ["U-REQ", "ｕ-ｒｅｑ", " u-req "], ids=["upper", "fullwidth", "padded"]
)
def test_cli_requester_cannot_approve_under_a_variant_of_their_id(
    keys: dict[str, str], single_operator: None, variant: str
) -> None:
    admin = keys["ops-1"]
    code, out, err = _run("principals", "add", "u-req", "--role", "write", "--json", key=admin)
    assert code == 0, err
    req_key = json.loads(out)["api_key"]
    code, out, err = _run("principals", "add", variant, "--role", "admin", key=keys["ops-1"])
    _one_line_error(code, out, err, "principal_exists")  # no second principal under a variant
    code, out, _ = _run("run", REFUND, "--as", variant, "--json")
    thread = json.loads(out)["thread_id"]
    assert json.loads(out)["status"] == "paused"
    for args, key in ((["--as", variant], None), (["--as", variant], req_key), ([], req_key)):
        code, out, err = _run("resume", thread, "--approve", *args, "--json", key=key)
        assert code == 0, err
        assert json.loads(out)["reason_code"] == "approver_is_requester"
    _, out, _ = _run("pending", "--json", key=keys["ops-1"])
    assert [p["thread_id"] for p in json.loads(out)] == [thread]


def test_cli_approver_groups_come_from_the_directory(
    keys: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "groups.toml"
    config.write_text(
        '[[approval.rules]]\nid = "refunds"\ntools = ["issue_refund"]\n'
        'approver_role = "write"\napprover_groups = ["finance"]\n'
    )
    monkeypatch.setenv("SAFE_AGENT_CONFIG", str(config))
    directory = PrincipalDirectory(data_paths().principals)
    finance_key = directory.add("fin-1", role="write", groups=["Finance"], now=NOW)[1]
    thread = _paused(keys)
    code, out, err = _run("resume", thread, "--approve", "--json", key=keys["w-2"])
    assert code == 0 and json.loads(out)["reason_code"] == "approver_not_in_group", err
    code, out, err = _run("resume", thread, "--approve", "--json", key=finance_key)
    assert code == 0 and json.loads(out)["status"] == "answered", err


@pytest.mark.parametrize(
    "command",
    [
        ["reconcile", "t", "--done"],
        ["sweep"],
        ["switch-off", "all", "--reason", "x"],
        ["switch-on", "all"],
        ["audit"],
        ["audit", "--verify"],
        ["principals", "list"],
        ["principals", "add", "x-1", "--role", "admin"],
        ["principals", "revoke", "ops-1"],
        ["principals", "rotate", "ops-1"],
    ],
    ids=lambda c: "-".join(c[:2]),
)
def test_cli_operator_commands_refuse_a_non_admin(keys: dict[str, str], command: list[str]) -> None:
    for who in ("u-1", "u-123"):
        code, out, err = _run(*command, key=keys[who])
        _one_line_error(code, out, err, "forbidden:")
    code, out, _ = _run("switches", "--json")
    assert json.loads(out) == []  # nothing was switched off
    assert PrincipalDirectory(data_paths().principals).get("x-1") is None


def test_cli_spend_is_admin_or_your_own(keys: dict[str, str]) -> None:
    code, out, _ = _run("spend", "--json", key=keys["u-1"])
    assert code == 0 and any(line["subject"] == "u-1" for line in json.loads(out)["lines"])
    code, out, err = _run("spend", "--user", "u-123", key=keys["u-1"])
    _one_line_error(code, out, err, "forbidden:")
    code, out, _ = _run("spend", "--user", "u-123", "--json", key=keys["ops-1"])
    assert code == 0


@pytest.mark.parametrize(
    "args, needle",
    [
        (["resume", "nope", "--approve"], "nothing_to_resume"),
        (["resume", "t"], "exactly one of"),
        (["resume", "t", "--edit", "{not json"], "not valid JSON"),
        (["run", "hi", "--role", "admin"], "No such option '--role'"),
        (["run", "hi", "--user", "u-1"], "No such option '--user'"),
        (["resume", "t", "--approve", "--role", "admin"], "No such option '--role'"),
        (["switch-on", "all", "--role", "admin"], "No such option '--role'"),
    ],
    ids=[
        "unknown-thread",
        "no-decision",
        "bad-edit-json",
        "no-role",
        "no-user",
        "no-resume-role",
        "no-operator-role",
    ],
)
def test_cli_errors_are_one_line_without_traceback(
    keys: dict[str, str], args: list[str], needle: str
) -> None:
    code, out, err = _run(*args, key=keys["approver-7"])
    assert code != 0
    assert needle in err
    assert "Traceback" not in out + err


def test_cli_bad_config_file_is_one_line(
    keys: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[budget]\niterations_limit = -3\n")
    monkeypatch.setenv("SAFE_AGENT_CONFIG", str(bad))
    code, out, err = _run("run", "hi", key=keys["u-1"])
    _one_line_error(code, out, err, "config_error")
    assert "budget.iterations_limit" in err


def test_cli_graph_prints_mermaid_of_all_nodes() -> None:
    code, out, _ = _run("graph")
    assert code == 0 and out.count("(") >= 9 and "approval" in out and "graph TD" in out


def test_cli_console_script_runs_in_a_real_process(keys: dict[str, str], tmp_path: Path) -> None:
    home = data_paths().root
    done = subprocess.run(
        [sys.executable, "-m", "safe_agent", "run", "What is the refund policy?"]
        + ["--home", str(home), "--json"],
        env={**os.environ, "SAFE_AGENT_API_KEY": keys["u-1"]},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "answered"
    audit = sqlite3.connect(home / "audit.sqlite")
    assert audit.execute("select count(*) from audit_events").fetchone()[0] > 0
