"""The keyed, anchored audit log at the store level.

What is stored is what verifies, and the anchor only moves forward.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from safe_agent.stores._sqlite import close_all
from safe_agent.stores.audit import TABLE, AuditLog
from safe_agent.stores.audit_anchor import AuditAnchors, AuditKeyError, load_key
from safe_agent.stores.audit_chain import GENESIS, key_id

KEY = b"k" * 32
# A SHA-256 hex digest whose 16-digit run "4111111111111111" passes the Luhn check: card redaction
# used to rewrite it (12 of 817 rows in issue 10), so the row no longer matched the decision ledger.
DIGEST = "ab4111111111111111cd0123456789abcdef0123456789abcdef0123456789ab"


def _event(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": f"e-{i}",
        "timestamp": f"2026-01-01T00:00:{i:02d}.000000+00:00",
        "node": "n",
        "kind": "k",
        "user_id": "u-1",
        "detail": f"event {i}",
        **extra,
    }


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    return AuditLog(
        tmp_path / "audit.sqlite", key=KEY, anchors=AuditAnchors(tmp_path / "safety.sqlite")
    )


def test_digests_ids_and_idempotency_keys_survive_redaction_byte_for_byte(log: AuditLog) -> None:
    data = {
        "digest": DIGEST,
        "request_digest": DIGEST,
        "idempotency_key": f"idem-{DIGEST[:32]}",
        "args": {"note": f"card 4111111111111111, ref {DIGEST}"},
    }
    log.append([_event(1, input=data, tool_call_id="call_4111111111111111")])
    [row] = log.records()
    assert row["input"]["digest"] == DIGEST and row["input"]["request_digest"] == DIGEST
    assert (
        row["input"]["idempotency_key"] == f"idem-{DIGEST[:32]}"
        and row["tool_call_id"] == "call_4111111111111111"
    )
    assert (
        row["input"]["args"]["note"] == f"card [REDACTED_CARD], ref {DIGEST}"
    )  # the card, not the digest
    assert log.verify().ok


def test_values_are_stored_as_hashed_so_odd_types_still_verify(log: AuditLog) -> None:
    """Before: an int latency was hashed as 5 and read back as 5.0.

    And a datetime was hashed with str() but stored ISO.
    """
    log.append(
        [
            _event(
                1,
                latency_ms=5,
                approver_id=dt.datetime(2026, 1, 2, 3, 4, 5),
                tool_call_id=7,
                step="3",
            )
        ]
    )
    [row] = log.records()
    assert (row["latency_ms"], row["approver_id"], row["tool_call_id"], row["step"]) == (
        5.0,
        "2026-01-02T03:04:05",
        "7",
        3,
    )
    assert log.verify().ok


def test_every_row_has_a_mac_and_the_anchor_follows_the_head(log: AuditLog, tmp_path: Path) -> None:
    anchors = AuditAnchors(tmp_path / "safety.sqlite")
    assert anchors.read().seq == 0 and anchors.read().hash == GENESIS  # a new log starts anchored
    log.append([_event(i) for i in range(3)])
    log.append([_event(i) for i in range(3, 5)])
    rows = log.records()
    assert all(r["mac"] and r["pii_digest"] and r["pii_salt"] for r in rows)
    head = anchors.read()
    assert (head.seq, head.hash, head.key_id) == (
        5,
        rows[-1]["hash"],
        key_id(KEY),
    ) and head.verifies(KEY)
    check = log.verify()
    assert (check.ok, check.rows, check.keyed, check.anchored_seq) == (True, 5, True, 5)


def test_an_anchor_one_batch_behind_still_verifies(log: AuditLog, tmp_path: Path) -> None:
    """A crash between audit commit and anchor write leaves the anchor behind, never ahead."""
    log.append([_event(1)])
    behind = AuditAnchors(tmp_path / "safety.sqlite").read()
    log.append([_event(2)])
    AuditAnchors(tmp_path / "safety.sqlite").replace(behind)
    assert log.verify().ok
    log.append([_event(3)])  # the next write moves it on
    assert AuditAnchors(tmp_path / "safety.sqlite").read().seq == 3


def test_an_anchor_that_does_not_match_is_never_moved_by_a_write(
    log: AuditLog, tmp_path: Path
) -> None:
    log.append([_event(i) for i in range(5)])
    with sqlite3.connect(log.path) as conn:
        conn.execute(f"DROP TRIGGER {TABLE}_no_delete")
        conn.execute(f"DELETE FROM {TABLE} WHERE seq > 2")
    log.append(
        [_event(i) for i in range(10, 14)]
    )  # the agent keeps writing, past the old head; the evidence stays
    assert AuditAnchors(tmp_path / "safety.sqlite").read().seq == 5
    check = log.verify()
    assert not check.ok and check.problem.startswith(
        "row 5 is not the row the anchor in the safety store names"
    )


def test_concurrent_writers_keep_one_chain_and_a_monotone_anchor(
    log: AuditLog, tmp_path: Path
) -> None:
    def writer(n: int) -> None:
        for j in range(10):
            log.append([_event(1000 * n + 10 * j + k) for k in range(3)])

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    check = log.verify()
    assert (check.ok, check.rows, check.anchored_seq) == (True, 120, 120)


def test_the_update_trigger_allows_only_retention(log: AuditLog) -> None:
    log.append([_event(1)])
    with sqlite3.connect(log.path) as conn:
        for sql in (
            f"UPDATE {TABLE} SET detail = 'x'",
            f"UPDATE {TABLE} SET user_id = NULL, anonymised_at = 'now'",  # blanks only some fields
            f"UPDATE {TABLE} SET user_id = NULL, session_id = NULL, approver_id = NULL, "
            "input = NULL, detail = NULL, "
            "result_summary = NULL, error = NULL, pii_salt = NULL, anonymised_at = 'now', "
            "kind = 'other'",
        ):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(sql)
    assert log.retain(before="2027-01-01", operator_id="ops-1") == 1
    [row, retention] = log.records()
    assert (
        row["anonymised_at"] and row["user_id"] is None and retention["input"]["through_seq"] == 1
    )
    assert log.verify().ok


def test_retention_is_a_prefix_and_skips_rows_it_cannot_anonymise(log: AuditLog) -> None:
    log.append([_event(1), _event(2, timestamp="2030-01-01T00:00:00+00:00"), _event(3)])
    assert (
        log.retain(before="2029-01-01", operator_id="ops-1") == 1
    )  # row 3 is old, but after a young row
    assert [bool(r["anonymised_at"]) for r in log.records()] == [True, False, False, False]
    assert (
        log.retain(before="2029-01-01", operator_id="ops-1") == 0
    )  # nothing new: no second retention row
    assert len(log.records()) == 4 and log.verify().ok


def test_without_a_key_the_plain_chain_is_checked_and_says_so(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "a.sqlite")
    log.append([_event(1)])
    check = log.verify()
    assert (check.ok, check.keyed, check.anchored_seq) == (True, False, None)
    assert log.records()[0]["mac"] is None
    with pytest.raises(ValueError, match="needs its key"):
        AuditLog(tmp_path / "a.sqlite", anchors=AuditAnchors(tmp_path / "s.sqlite"))


def test_opening_without_create_never_creates_files(tmp_path: Path) -> None:
    log = AuditLog(
        tmp_path / "missing.sqlite",
        key=KEY,
        anchors=AuditAnchors(tmp_path / "safety.sqlite"),
        create=False,
    )
    check = log.verify()
    assert not check.ok and "does not exist" in check.problem
    assert not (tmp_path / "missing.sqlite").exists() and not (tmp_path / "safety.sqlite").exists()


def test_the_key_comes_from_env_then_key_file_then_a_created_default(tmp_path: Path) -> None:
    default = tmp_path / "home" / "audit.key"
    assert (
        load_key(env_value="e" * 32, key_file=None, default_file=default, create=True) == b"e" * 32
    )
    assert not default.exists()
    named = tmp_path / "named.key"
    named.write_text("n" * 40 + "\n")
    assert load_key(env_value=None, key_file=named, default_file=default, create=True) == b"n" * 40
    with pytest.raises(AuditKeyError, match="cannot read audit key file"):
        load_key(env_value=None, key_file=tmp_path / "nope", default_file=default, create=True)
    with pytest.raises(AuditKeyError, match="no audit key"):
        load_key(env_value=None, key_file=None, default_file=default, create=False)
    made = load_key(env_value=None, key_file=None, default_file=default, create=True)
    assert len(made) == 64 and default.stat().st_mode & 0o777 == 0o600
    assert (
        load_key(env_value=None, key_file=None, default_file=default, create=True) == made
    )  # made once
    assert list(default.parent.iterdir()) == [default]  # no temporary file left behind


def test_the_key_is_never_written_to_the_audit_or_safety_file(
    log: AuditLog, tmp_path: Path
) -> None:
    log.append([_event(1)])
    log.retain(before="2027-01-01", operator_id="ops-1")
    for file in tmp_path.iterdir():
        assert KEY not in file.read_bytes(), file.name
    assert json.loads(log.signed_head(operator_id="ops-1").to_json())["key_id"] == key_id(KEY)


def test_anonymised_values_are_not_left_in_the_files(log: AuditLog, tmp_path: Path) -> None:
    """Without secure_delete and a WAL checkpoint, SQLite keeps the old bytes in free space.

    14 of 50 here.
    """
    log.append(
        [_event(i, user_id="zebulon-the-customer", detail="private words " * 20) for i in range(50)]
    )
    assert log.retain(before="2027-01-01", operator_id="ops-1") == 50
    close_all()
    left = b"".join(f.read_bytes() for f in tmp_path.iterdir() if f.is_file())
    assert left.count(b"zebulon-the-customer") == 0 and left.count(b"private words") == 0
    assert log.verify().ok
