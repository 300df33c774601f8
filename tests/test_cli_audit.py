"""`safe-agent audit`: each way of tampering with the log is caught by `audit --verify` in one line.

Each attack is done as someone who can write the data folder but does not hold the audit key
would do it: with sqlite3 on the files, triggers dropped first, hashes recomputed with the
published formula (`stores.audit_chain.row_hash`). Before issue 10, nine of these passed `verify`
(exit 0): the three cuts, deleting every row, DROP TABLE, deleting the file, a replaced file, an
edited-and-rechained row and a forged append.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from safe_agent.cli import cli
from safe_agent.settings import build_services, data_paths
from safe_agent.stores._sqlite import close_all
from safe_agent.stores.audit import AuditLog
from safe_agent.stores.audit_chain import pii_digest, row_hash
from safe_agent.stores.principals import PrincipalDirectory

N = 69
NOW = 1_800_000_000.0


def _events(prefix: str, n: int, year: int = 2026) -> list[dict[str, Any]]:
    return [
        {
            "event_id": f"{prefix}-{i}",
            "timestamp": f"{year}-01-01T00:{i // 60:02d}:{i % 60:02d}.000000+00:00",
            "node": "approval",
            "kind": "approval_decision",
            "decision": "allow",
            "detail": f"event {i}",
            "user_id": "u-123",
            "step": i,
            "input": {"args": {"order_id": f"{1000 + i}"}, "digest": "ab" * 32},
        }
        for i in range(n)
    ]


@pytest.fixture(autouse=True)
def _no_ambient_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAFE_AGENT_API_KEY", raising=False)
    monkeypatch.delenv("SAFE_AGENT_AUDIT_KEY", raising=False)


@pytest.fixture
def keys() -> dict[str, str]:
    """An admin and a read principal; then N audit rows written the way the agent writes them."""
    directory = PrincipalDirectory(data_paths().principals)
    issued = {
        "ops-1": directory.bootstrap("ops-1", now=NOW)[1],
        "u-1": directory.add("u-1", role="read", now=NOW)[1],
    }
    audit = build_services().audit
    audit.append(_events("e", N - len(audit.records())))  # bootstrap and add wrote operator rows
    close_all()
    return issued


def _cli(*args: str, key: str | None) -> tuple[int, str, str]:
    close_all()  # an attacker's writes happened outside this process's cached connections
    result = CliRunner().invoke(cli, list(args), env={"SAFE_AGENT_API_KEY": key})
    return result.exit_code, result.stdout, result.stderr


def _one_line_error(code: int, out: str, err: str, needle: str) -> None:
    assert code == 1, (code, out, err)
    assert needle in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in out + err


def _raw(path: Path | None = None) -> sqlite3.Connection:
    conn = sqlite3.connect(path or data_paths().audit, isolation_level=None)
    conn.row_factory = sqlite3.Row
    for name in ("audit_events_no_update", "audit_events_no_delete"):
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    return conn


def _rows(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute("SELECT * FROM audit_events ORDER BY seq")]


def _set(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    cols = [c for c in row if c != "seq"]
    conn.execute(
        f"UPDATE audit_events SET {', '.join(f'{c} = ?' for c in cols)} WHERE seq = ?",
        [row[c] for c in cols] + [row["seq"]],
    )


def _insert(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    conn.execute(
        f"INSERT INTO audit_events ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
        list(row.values()),
    )


def _rechain(conn: sqlite3.Connection, start: int) -> None:
    """Recompute prev_hash and hash from row `start` on, as the published formula says."""
    rows = _rows(conn)
    prev = rows[start - 2]["hash"]
    for row in rows[start - 1 :]:
        row["prev_hash"] = prev
        row["hash"] = prev = row_hash(row)
        _set(conn, row)


def _remove_audit_file() -> None:
    close_all()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{data_paths().audit}{suffix}").unlink(missing_ok=True)


def cut(n: int) -> Callable[[], None]:
    def attack() -> None:
        _raw().execute("DELETE FROM audit_events WHERE seq > ?", [N - n])

    attack.__name__ = f"cut_last_{n}"
    return attack


def delete_every_row() -> None:
    _raw().execute("DELETE FROM audit_events")


def drop_table() -> None:
    _raw().execute("DROP TABLE audit_events")


def delete_file() -> None:
    _remove_audit_file()


def replace_with_other_key() -> None:
    _remove_audit_file()
    AuditLog(data_paths().audit, key=b"the attacker's own key, 32+ chars").append(
        _events("fake", N)
    )


def replace_keeping_log_id_no_key() -> None:
    log_id = _raw().execute("SELECT value FROM audit_meta").fetchone()[0]
    _remove_audit_file()
    AuditLog(data_paths().audit).append(_events("fake", N))
    _raw().execute("UPDATE audit_meta SET value = ?", [log_id])


def edit_and_rechain() -> None:
    conn = _raw()
    conn.execute("UPDATE audit_events SET decision = 'deny' WHERE seq = 30")
    _rechain(conn, 30)


def forged_append() -> None:
    conn = _raw()
    last = _rows(conn)[-1]
    row = {
        **last,
        "seq": N + 1,
        "event_id": "forged",
        "kind": "approval_decision",
        "approver_id": "boss",
        "prev_hash": last["hash"],
        "anonymised_at": None,
    }
    row["pii_digest"] = pii_digest(row)
    row["hash"] = row_hash(row)
    row["mac"] = hmac.new(b"a guess", row["hash"].encode(), hashlib.sha256).hexdigest()
    _insert(conn, row)


def edit_without_rechain() -> None:
    _raw().execute("UPDATE audit_events SET decision = 'deny' WHERE seq = 30")


def reorder() -> None:
    conn = _raw()
    a, b = _rows(conn)[29:31]
    conn.execute("UPDATE audit_events SET event_id = seq || '-moving' WHERE seq IN (30, 31)")
    _set(conn, {**b, "seq": 30})
    _set(conn, {**a, "seq": 31})


def duplicate() -> None:
    conn = _raw()
    conn.execute("DROP INDEX idx_audit_events_event_id")
    _insert(conn, {**_rows(conn)[29], "seq": N + 1})


def change_mac() -> None:
    _raw().execute("UPDATE audit_events SET mac = ? WHERE seq = 30", ["0" * 64])


def delete_middle_row() -> None:
    _raw().execute("DELETE FROM audit_events WHERE seq = 30")


def delete_anchor() -> None:
    sqlite3.connect(data_paths().safety, isolation_level=None).execute("DELETE FROM audit_anchor")


def cut_and_move_anchor_back() -> None:
    cut(5)()
    conn = sqlite3.connect(data_paths().safety, isolation_level=None)
    conn.execute("UPDATE audit_anchor SET seq = ?, hash = ?", [N - 5, _rows(_raw())[-1]["hash"]])


def anonymise_without_retention() -> None:
    _raw().execute(
        "UPDATE audit_events SET user_id = NULL, session_id = NULL, approver_id = NULL, "
        "input = NULL, "
        "detail = NULL, result_summary = NULL, error = NULL, pii_salt = NULL, anonymised_at = 'x' "
        "WHERE seq = 10"
    )


ATTACKS = [
    (
        cut(1),
        "row 69 is missing: the anchor in the safety store names row 69, the log ends at row 68",
    ),
    (cut(5), "rows 65..69 are missing: the anchor in the safety store names row 69"),
    (cut(N - 1), "rows 2..69 are missing"),
    (delete_every_row, "rows 1..69 are missing"),
    (drop_table, "has no audit_events table (dropped); the anchor names row 69"),
    (delete_file, "does not exist; the anchor names row 69"),
    (replace_with_other_key, "the audit file is not the log the anchor in the safety store names"),
    (replace_keeping_log_id_no_key, "row 1: has no MAC (written without the audit key)"),
    (edit_and_rechain, "row 30: MAC does not verify"),
    (forged_append, "row 70: MAC does not verify"),
    (edit_without_rechain, "row 30: content does not match its hash"),
    (reorder, "row 30: prev_hash does not match row 29"),
    (duplicate, "row 70: prev_hash does not match row 69"),
    (change_mac, "row 30: MAC does not verify"),
    (delete_middle_row, "row 30 is missing"),
    (delete_anchor, "no anchor in the safety store"),
    (cut_and_move_anchor_back, "the anchor in the safety store does not verify"),
    (anonymise_without_retention, "row 10: anonymised, but no retention row covers it"),
]


def test_an_untouched_log_verifies(keys: dict[str, str]) -> None:
    code, out, err = _cli("audit", "--verify", key=keys["ops-1"])
    assert (code, err) == (
        0,
        "",
    ) and out.strip() == f"audit log verifies: {N} rows, every MAC checked, anchored at row {N}"


@pytest.mark.parametrize(("attack", "needle"), ATTACKS, ids=[a.__name__ for a, _ in ATTACKS])
def test_tampering_is_named_in_one_line(
    keys: dict[str, str], attack: Callable[[], None], needle: str
) -> None:
    attack()
    code, out, err = _cli("audit", "--verify", key=keys["ops-1"])
    _one_line_error(code, out, err, "audit log ALTERED: ")
    assert needle in err


def test_verify_never_creates_a_missing_log(keys: dict[str, str]) -> None:
    _remove_audit_file()
    code, out, err = _cli("audit", "--verify", "--json", key=keys["ops-1"])
    assert code == 1 and json.loads(out)["ok"] is False and "audit log missing" in err
    assert not data_paths().audit.exists()


def test_rolling_back_both_files_is_caught_only_by_an_exported_anchor(
    keys: dict[str, str], tmp_path: Path
) -> None:
    """Copies of audit.sqlite and safety.sqlite taken together agree with each other.

    The exported head does not.
    """
    close_all()
    saved = tmp_path / "saved"
    saved.mkdir()
    for file in (data_paths().audit, data_paths().safety):
        shutil.copy(file, saved / file.name)
    build_services().audit.append(_events("later", 10))
    code, out, err = _cli(
        "audit", "anchor", "--out", str(tmp_path / "head.json"), key=keys["ops-1"]
    )
    assert code == 0 and f"anchored row {N + 11}" in out, err
    close_all()
    for file in (data_paths().audit, data_paths().safety):
        shutil.copy(saved / file.name, file)
    assert _cli("audit", "--verify", key=keys["ops-1"])[0] == 0  # the limit docs/audit.md states
    code, out, err = _cli(
        "audit", "--verify", "--anchor", str(tmp_path / "head.json"), key=keys["ops-1"]
    )
    _one_line_error(
        code,
        out,
        err,
        f"rows {N + 1}..{N + 11} are missing: the exported anchor names row {N + 11}",
    )


def test_an_exported_anchor_from_another_key_or_edited_is_refused(
    keys: dict[str, str], tmp_path: Path
) -> None:
    head = tmp_path / "head.json"
    assert _cli("audit", "anchor", "--out", str(head), key=keys["ops-1"])[0] == 0
    data = json.loads(head.read_text())
    head.write_text(json.dumps({**data, "seq": data["seq"] - 1}))
    code, out, err = _cli("audit", "--verify", "--anchor", str(head), key=keys["ops-1"])
    _one_line_error(code, out, err, "the exported anchor does not verify")
    head.write_text("{}")
    _one_line_error(
        *_cli("audit", "--verify", "--anchor", str(head), key=keys["ops-1"]),
        "is not an exported audit head",
    )
    code, out, err = _cli("audit", "anchor", "--out", str(head), key=keys["ops-1"])
    _one_line_error(code, out, err, "cannot write")  # never overwrites what an auditor was given


def test_a_lost_key_is_an_error_and_is_not_replaced(keys: dict[str, str]) -> None:
    data_paths().audit_key.unlink()
    _one_line_error(*_cli("audit", "--verify", key=keys["ops-1"]), "no audit key")
    _one_line_error(*_cli("run", "hello", key=keys["u-1"]), "no audit key")
    assert not data_paths().audit_key.exists()


def test_another_key_is_named(keys: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFE_AGENT_AUDIT_KEY", "k" * 40)
    _one_line_error(
        *_cli("audit", "--verify", key=keys["ops-1"]),
        "is not the one the anchor in the safety store was",
    )
    monkeypatch.setenv("SAFE_AGENT_AUDIT_KEY", "short")
    _one_line_error(*_cli("audit", "--verify", key=keys["ops-1"]), "shorter than 32 characters")


def test_export_prints_one_object_per_line_with_the_familiar_names(keys: dict[str, str]) -> None:
    code, out, err = _cli(
        "audit", "export", "--jsonl", "--since", "2026-01-01T00:01", key=keys["ops-1"]
    )
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(lines) == N - 2 - 60 + 2, (
        err
    )  # events 60..66 written at 00:01:xx, plus the two operator rows
    familiar = {
        "timestamp",
        "user_id",
        "session_id",
        "agent_step",
        "tool_name",
        "tool_args",
        "tool_result_summary",
        "cost_usd",
        "latency_ms",
        "success",
        "error",
        "retry_count",
        "circuit_breaker_state",
    }
    own = {"event_id", "kind", "node", "decision", "reason_code", "seq", "hash"}
    assert familiar | own <= set(lines[0])
    first = next(line for line in lines if line["kind"] == "approval_decision")
    assert (
        first["tool_args"] == {"order_id": "1060"}
        and first["agent_step"] == 60
        and first["user_id"] == "u-123"
    )


def test_retention_anonymises_old_rows_and_the_chain_still_verifies(keys: dict[str, str]) -> None:
    audit = build_services().audit
    audit.append(
        _events("old", 5, year=2001)
    )  # out of order in time: retention stops at the first young row
    rows_before = audit.records()
    code, out, err = _cli("audit", "retain", "--older-than", "30", key=keys["ops-1"])
    assert code == 0 and "anonymised" in out, err
    rows = audit.records()
    young_first = rows_before[-1]["seq"] - 4 - 1  # the 2026 rows are older than 30 days too
    anonymised = [r for r in rows if r.get("anonymised_at")]
    assert [r["seq"] for r in anonymised] == list(
        range(1, len(rows_before) + 1)
    ) and young_first > 0
    assert all(
        r["user_id"] is None and r["input"] is None and r["detail"] is None for r in anonymised
    )
    assert [r["hash"] for r in rows[: len(rows_before)]] == [r["hash"] for r in rows_before]
    assert rows[-1]["kind"] == "audit_retention" and rows[-1]["input"]["through_seq"] == len(
        rows_before
    )
    code, out, _ = _cli("audit", "--verify", key=keys["ops-1"])
    assert code == 0 and f"{len(rows_before)} rows anonymised by retention" in out


def test_retention_refuses_a_log_that_does_not_verify(keys: dict[str, str]) -> None:
    edit_without_rechain()
    _one_line_error(
        *_cli("audit", "retain", "--older-than", "1", key=keys["ops-1"]),
        "row 30: content does not match",
    )
    assert not any(r.get("anonymised_at") for r in build_services().audit.records())


def test_a_legacy_log_is_reported_until_adopted(tmp_path: Path, keys: dict[str, str]) -> None:
    """A log from before audit keys: rows without a MAC, no anchor.

    verify says so; adopt seals it once.
    """
    _remove_audit_file()
    legacy = sqlite3.connect(data_paths().audit)
    legacy.executescript((Path(__file__).parent / "stores" / "legacy_audit.sql").read_text())
    legacy.close()
    delete_anchor()
    build_services().audit.append(
        _events("after-upgrade", 3)
    )  # keyed rows, but the anchor does not follow
    _one_line_error(*_cli("audit", "--verify", key=keys["ops-1"]), "no anchor in the safety store")
    code, out, err = _cli("audit", "adopt", key=keys["ops-1"])
    assert code == 0 and "adopted the log (3 rows without a MAC); anchored at row 7" in out, err
    code, out, err = _cli("audit", "--verify", key=keys["ops-1"])
    assert code == 0 and "3 adopted rows without a MAC" in out and "anchored at row 7" in out, err
    _raw().execute("UPDATE audit_events SET detail = 'rewritten' WHERE seq = 2")
    _rechain(_raw(), 2)  # the adoption row's MAC covers the legacy rows' chain
    _one_line_error(*_cli("audit", "--verify", key=keys["ops-1"]), "row 4: MAC does not verify")


@pytest.mark.parametrize(
    "command",
    [
        ["export"],
        ["anchor", "--out", "x.json"],
        ["retain", "--older-than", "1"],
        ["adopt"],
        ["--verify", "--anchor", "x.json"],
    ],
    ids=lambda c: c[0],
)
def test_audit_subcommands_are_admin_only(keys: dict[str, str], command: list[str]) -> None:
    _one_line_error(*_cli("audit", *command, key=keys["u-1"]), "forbidden:")
