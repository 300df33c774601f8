"""The audit log written in batches.

The hash chain, idempotency by event_id and append-only all hold.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from safe_agent.stores._sqlite import session
from safe_agent.stores.audit import GENESIS, TABLE, AuditLog
from safe_agent.stores.audit_chain import row_hash


def _events(prefix: str, n: int, **extra: Any) -> list[dict[str, Any]]:
    return [
        {
            "event_id": f"{prefix}-{i}",
            "timestamp": f"2026-01-01T00:00:{i:02d}Z",
            "node": "n",
            "kind": "k",
            "decision": "allow",
            "detail": f"event {i}",
            "step": i,
            "input": {"i": i},
            **extra,
        }
        for i in range(n)
    ]


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    return AuditLog(tmp_path / "audit.sqlite")


def _raw_rows(log: AuditLog) -> list[dict[str, Any]]:
    with session(log.path) as db:
        return list(db[TABLE].rows_where(order_by="seq"))


def test_batches_chain_and_verify(log: AuditLog) -> None:
    assert log.append(_events("a", 7)) == 7
    assert log.append(_events("b", 5)) == 5
    assert log.append([]) == 0
    check = log.verify()
    assert (check.ok, check.rows) == (True, 12)
    rows = _raw_rows(log)
    assert [r["seq"] for r in rows] == list(range(1, 13))
    assert rows[0]["prev_hash"] == GENESIS
    for before, row in zip(rows, rows[1:], strict=False):
        assert row["prev_hash"] == before["hash"]
    assert all(row_hash(r) == r["hash"] for r in rows)
    assert [r["event_id"] for r in rows] == [f"a-{i}" for i in range(7)] + [
        f"b-{i}" for i in range(5)
    ]


def test_replayed_and_mixed_batches_write_only_new_events(log: AuditLog) -> None:
    first = _events("e", 4)
    assert log.append(first) == 4
    assert log.append(first) == 0  # a replayed node writes nothing
    mixed = first[2:] + _events("f", 3)
    assert log.append(mixed) == 3
    dup_in_batch = _events("g", 2) + _events("g", 2)
    assert log.append(dup_in_batch) == 2
    check = log.verify()
    assert (check.ok, check.rows) == (True, 9)
    assert len({r["event_id"] for r in _raw_rows(log)}) == 9


def test_records_round_trip_after_batch(log: AuditLog) -> None:
    log.append(_events("r", 3, success=True, cost_usd=0.5, error="mail bob@example.com failed"))
    rows = log.records()
    assert [r["input"] for r in rows] == [{"i": 0}, {"i": 1}, {"i": 2}]
    assert all(r["success"] is True and r["cost_usd"] == 0.5 for r in rows)
    assert all("bob@example.com" not in (r["error"] or "") for r in rows)  # still redacted
    assert log.verify().ok


def test_non_plain_values_are_stored_as_sqlite_utils_did(log: AuditLog) -> None:
    stamp = dt.datetime(2026, 1, 2, 3, 4, 5)
    log.append(_events("v", 1, approver_id=stamp))  # type: ignore[arg-type]
    [row] = _raw_rows(log)
    assert row["approver_id"] == stamp.isoformat()


def test_append_only_triggers_still_guard_the_table(log: AuditLog) -> None:
    log.append(_events("t", 3))
    with sqlite3.connect(log.path) as conn:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(f"UPDATE {TABLE} SET detail = 'x' WHERE seq = 2")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(f"DELETE FROM {TABLE} WHERE seq = 2")
    assert log.verify().ok


def test_tampering_is_still_detected(log: AuditLog) -> None:
    log.append(_events("x", 4))
    with sqlite3.connect(log.path) as conn:
        conn.execute(f"DROP TRIGGER {TABLE}_no_update")
        conn.execute(f"UPDATE {TABLE} SET detail = 'edited' WHERE seq = 3")
    check = log.verify()
    assert (check.ok, check.first_bad_seq) == (False, 3)


def test_failed_batch_writes_nothing_and_the_log_stays_usable(log: AuditLog) -> None:
    log.append(_events("ok", 2))
    bad = _events("bad", 3)
    bad[1]["timestamp"] = None  # NOT NULL: the whole batch must roll back, not half of it
    with pytest.raises(sqlite3.IntegrityError):
        log.append(bad)
    assert [r["event_id"] for r in _raw_rows(log)] == ["ok-0", "ok-1"]
    assert log.append(_events("later", 2)) == 2
    check = log.verify()
    assert (check.ok, check.rows) == (True, 4)


def test_concurrent_batches_from_threads_keep_one_chain(log: AuditLog) -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for j in range(10):
                log.append(_events(f"w{n}-{j}", 4))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    check = log.verify()
    assert (check.ok, check.rows) == (True, 6 * 10 * 4)
