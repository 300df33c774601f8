"""`safe-agent health` and `safe-agent breakers`: honest verdicts by exit code, admin-only brakes.

Attacks first: a non-admin (or no key) cannot reset or trip a breaker; an unwritable store, a
read-only data folder, a replaced audit log or a thrown `all` switch cannot hide behind "ok";
the public report leaks no reason, operator id, name or path.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from safe_agent import SafeAgent
from safe_agent.cli import cli
from safe_agent.health import STUDIO_CHECKPOINTS, health_report
from safe_agent.policies.config import BreakerConfig
from safe_agent.settings import data_paths
from safe_agent.stores._sqlite import close_all
from safe_agent.stores.breakers import BreakerStore
from safe_agent.stores.principals import PrincipalDirectory
from safe_agent.stores.switches import KillSwitchStore

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "health.md"
CHECKS = [
    "data_folder",
    "disk",
    "store:checkpoints",
    "store:studio_checkpoints",
    "store:audit",
    "store:safety",
    "store:spend",
    "store:principals",
    "breakers",
    "kill_switches",
    "audit_anchor",
]


def _run(*args: str, key: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env={"SAFE_AGENT_API_KEY": key})
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def home() -> Path:
    """A used home: services built, one answered run (so the audit log is anchored)."""
    with SafeAgent.open() as agent:
        agent.run("What is the status of order 1001?", user_id="u-1", role="read")
    return data_paths().root


@pytest.fixture
def keys(home: Path) -> dict[str, str]:
    directory = PrincipalDirectory(data_paths().principals)
    return {
        "ops-1": directory.bootstrap("ops-1", now=time.time())[1],
        "w-1": directory.add("w-1", role="write", now=time.time())[1],
    }


def _operator_rows() -> list[dict]:
    with SafeAgent.open() as agent:
        return [r for r in agent.audit() if r["node"] == "operator"]


def _health() -> tuple[int, dict]:
    code, out, err = _run("health", "--json")
    assert "Traceback" not in out + err
    return code, json.loads(out)


# --- attacks on the operator's brakes -----------------------------------------------------


@pytest.mark.parametrize(
    "command", [["reset", "model:offline"], ["force-open", "model:offline", "--reason", "x"]]
)
def test_breaker_change_without_an_admin_key_is_refused(
    keys: dict[str, str], command: list[str]
) -> None:
    store = BreakerStore(data_paths().safety)
    store.force_open("model:offline", now=time.time())
    before = store.get("model:offline")
    for key, needle in ((None, "unauthenticated"), (keys["w-1"], "needs the admin role")):
        code, out, err = _run("breakers", *command, key=key)
        assert code == 1 and needle in err and len(err.strip().splitlines()) == 1, (out, err)
    assert store.get("model:offline") == before
    assert not [r for r in _operator_rows() if r["kind"].startswith("breaker_")]


def test_force_open_refuses_a_name_that_guards_nothing(keys: dict[str, str]) -> None:
    for name, needle in (("tool:no_such_tool", "no tool"), ("issue_refund", "look like")):
        code, _out, err = _run("breakers", "force-open", name, "--reason", "x", key=keys["ops-1"])
        assert code == 1 and needle in err, err
    code, _out, err = _run("breakers", "force-open", "model:offline", key=keys["ops-1"])
    assert code == 1 and "--reason" in err  # required: every trip says why
    assert BreakerStore(data_paths().safety).all() == []


def test_admin_force_open_then_reset_is_audited_with_both_phases(keys: dict[str, str]) -> None:
    code, out, err = _run(
        "breakers",
        "force-open",
        "tool:issue_refund",
        "--reason",
        "PSP incident",
        "--json",
        key=keys["ops-1"],
    )
    assert code == 0, err
    data = json.loads(out)
    assert (data["before"]["phase"], data["after"]["phase"]) == ("closed", "open")
    assert data["transitions"][0]["cause"] == "operator_force_open"
    code, out, _ = _run("breakers", "list", "--json")
    [row] = json.loads(out)
    assert (row["name"], row["phase"]) == ("tool:issue_refund", "open") and row["retry_in_s"] > 0
    assert _health()[0] == 3  # an open breaker: degraded
    code, out, err = _run(
        "breakers", "reset", "tool:issue_refund", "--reason", "PSP fixed", key=keys["ops-1"]
    )
    assert code == 0 and "open -> closed" in out, err
    rows = [r for r in _operator_rows() if r["kind"].startswith("breaker_")]
    assert [(r["kind"], r["user_id"], r["input"]["target"]) for r in rows] == [
        ("breaker_force_open", "ops-1", "tool:issue_refund"),
        ("breaker_reset", "ops-1", "tool:issue_refund"),
    ]
    assert rows[0]["detail"] == "closed -> open: PSP incident"
    assert rows[1]["detail"] == "open -> closed: PSP fixed"
    assert _run("breakers")[1].startswith("no breaker")  # the group alone lists
    assert _health()[0] == 0


def test_force_open_trips_now_and_probes_after_one_cooldown(tmp_path: Path) -> None:
    """Force-open does not hold (kill switches hold): it behaves like a breaker that just opened."""
    store, config = BreakerStore(tmp_path / "b.sqlite"), BreakerConfig(cooldown_s=30)
    noted: list = []
    store.force_open("model:x", now=1000.0, transitions=noted)
    assert not store.acquire("model:x", now=1029.0, config=config)[0].allowed
    verdict, state = store.acquire("model:x", now=1030.0, config=config)
    assert verdict.allowed and verdict.data.get("probe") is True
    before = store.reset("model:x", now=1031.0, transitions=noted)
    assert before.phase.value == "half_open" and store.all() == []
    assert [(t.before, t.after, t.cause) for t in noted] == [
        ("closed", "open", "operator_force_open"),
        ("half_open", "closed", "operator_reset"),
    ]
    store.reset("model:never-used")  # the old call shape still works and reports nothing


# --- health: what may not pass as ok --------------------------------------------------------


def test_a_healthy_home_exits_0_with_every_check(home: Path) -> None:
    code, report = _health()
    assert code == 0 and report["status"] == "ok", report
    assert [c["name"] for c in report["checks"]] == CHECKS
    assert all(set(c) == {"name", "status", "detail", "data"} for c in report["checks"])
    anchor = next(c for c in report["checks"] if c["name"] == "audit_anchor")
    assert anchor["data"]["anchor_seq"] == anchor["data"]["log_rows"] > 0
    code, out, _ = _run("health")
    assert code == 0 and out.startswith("ok: ")
    from safe_agent.graph.studio_checkpointer import FILENAME

    assert STUDIO_CHECKPOINTS == FILENAME


def test_switches_make_it_degraded_and_all_makes_it_down(home: Path) -> None:
    switches = KillSwitchStore(data_paths().safety)
    switches.switch_off("tool:issue_refund", reason="PSP", set_by="ops-1", now=time.time())
    assert _health()[0] == 3
    switches.switch_off("all", reason="incident", set_by="ops-1", now=time.time())
    code, report = _health()
    assert code == 4 and report["status"] == "down"


def test_a_missing_home_is_a_down_report_not_a_traceback(tmp_path: Path) -> None:
    code, out, err = _run("health", "--home", str(tmp_path / "nowhere"), "--json")
    assert code == 4 and "Traceback" not in out + err
    assert json.loads(out)["checks"][0] == {
        "name": "data_folder",
        "status": "down",
        "data": {},
        "detail": f"{tmp_path / 'nowhere'} does not exist",
    }
    assert not (tmp_path / "nowhere").exists()  # a probe creates nothing


@contextmanager
def _read_only(path: Path) -> Iterator[None]:
    """Make `path` unwritable: chmod for a normal user; root ignores modes, so chattr +i."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o500 if path.is_dir() else 0o400)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    if (
        not shutil.which("chattr")
        or subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode
    ):
        pytest.skip("running as root on a file system without chattr +i")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_health_reports_down_when_safety_sqlite_is_not_writable(home: Path) -> None:
    with _read_only(data_paths().safety):
        code, report = _health()
    safety = next(c for c in report["checks"] if c["name"] == "store:safety")
    assert code == 4 and safety["status"] == "down" and "not writable" in safety["detail"]


def test_health_reports_down_when_the_data_folder_is_read_only(home: Path) -> None:
    close_all()  # as after a clean shutdown: the WAL files are gone, a writer must create them
    assert not list(home.glob("*.sqlite-wal"))
    with _read_only(home):
        code, report = _health()
    assert code == 4, report
    assert any(c["status"] == "down" for c in report["checks"] if c["name"].startswith("store:"))


def test_a_locked_store_is_degraded_and_does_not_stall_the_probe(home: Path) -> None:
    holder = sqlite3.connect(data_paths().spend, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.perf_counter()
        report = health_report()
        assert time.perf_counter() - started < 2.0
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert report.check("store:spend").status == "degraded" and report.status == "degraded"


def test_a_replaced_or_unanchored_audit_log_is_not_ok(home: Path) -> None:
    paths = data_paths()
    conn = sqlite3.connect(paths.safety, isolation_level=None)
    anchor = conn.execute("SELECT * FROM audit_anchor").fetchall()
    conn.execute("DELETE FROM audit_anchor")
    assert health_report().check("audit_anchor").status == "degraded"  # rows, no anchor
    conn.execute(f"INSERT INTO audit_anchor VALUES ({', '.join('?' * len(anchor[0]))})", anchor[0])
    conn.close()
    assert health_report().check("audit_anchor").status == "ok"
    paths.audit.rename(paths.root / "audit.old")
    for stale in paths.root.glob("audit.sqlite-*"):
        stale.unlink()
    assert health_report().check("audit_anchor").status == "down"  # deleted
    with SafeAgent.open() as agent:  # a fresh log appears: another log id than the anchor names
        agent.run("What is the status of order 1001?", user_id="u-1", role="read")
    check = health_report().check("audit_anchor")
    assert check.status == "down" and "replaced" in check.detail, check.detail


def test_disk_below_the_threshold_is_down(home: Path) -> None:
    assert health_report(min_free_mb=1e12).check("disk").status == "down"
    assert _run("health", "--min-free-mb", "1e12")[0] == 4


def test_the_public_report_names_no_reason_operator_thing_or_path(home: Path) -> None:
    switches = KillSwitchStore(data_paths().safety)
    switches.switch_off("user:u-secret", reason="fraud-case-4711", set_by="ops-1", now=time.time())
    BreakerStore(data_paths().safety).force_open("tool:issue_refund", now=time.time())
    report = health_report()
    public = json.dumps(report.to_dict(public=True))
    full = json.dumps(report.to_dict())
    for secret in ("fraud-case-4711", "ops-1", "u-secret", "issue_refund", str(home)):
        assert secret in full and secret not in public, secret
    assert '"1 active (1 user)"' in public and '"1 open"' in public


def test_a_probe_is_cheap(home: Path) -> None:
    health_report()
    times = []
    for _ in range(200):
        started = time.perf_counter()
        health_report()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p50, p95 = times[100], times[190]
    print(f"health_report over 200 calls: p50 {p50:.2f} ms, p95 {p95:.2f} ms")
    assert p95 < 50.0, (p50, p95)


def test_the_docs_example_is_what_the_command_prints(home: Path) -> None:
    """docs/health.md's runnable block runs as written; its sample output has the real shape."""
    fence = r"(<!-- not runnable: [^>]+-->\n)?```(bash|json|python)\n(.*?)```"
    blocks = re.findall(fence, DOC.read_text(), re.S)
    runnable = [b for b in blocks if b[1] == "bash" and not b[0]]
    assert runnable and all(b[0] for b in blocks if b[1] == "python")
    for _marker, _lang, body in runnable:
        for line in body.strip().splitlines():
            args = line.split("#")[0].split()
            assert args[0] == "safe-agent", line
            code, out, err = _run(*args[1:])
            assert code == 0 and "Traceback" not in out + err, (line, err)
    sample = json.loads(next(b[2] for b in blocks if b[1] == "json"))
    real = _health()[1]
    assert set(sample) == set(real) and [c["name"] for c in sample["checks"]] == CHECKS
    assert all(set(c) == {"name", "status", "detail", "data"} for c in sample["checks"])
