"""The append-only, hash-chained, keyed and anchored audit log of every safety decision.

Each row looks like an OPA decision-log event (id, time, path, redacted input, result, reason)
plus the fields an incident review asks for (user, thread, step, tool, cost, latency). Rows are
redacted before they are written, written once per `event_id` (a replayed node cannot duplicate
them), chained by SHA-256, keyed by an HMAC under a secret that is never in the audit file, and
guarded by triggers against UPDATE and DELETE. After every write the head of the chain is
anchored in another file (`stores.audit_anchor`), so cutting rows off the end, emptying or
swapping the file is seen by `verify`. The formulas are in `stores.audit_chain`; the guarantees
and their limits in `docs/audit.md`.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from safe_agent.stores._sqlite import immediate, session
from safe_agent.stores.audit_anchor import AuditAnchors
from safe_agent.stores.audit_chain import (
    GENESIS,
    RETENTION_KIND,
    ChainCheck,
    Head,
    check_chain,
    key_id,
    row_hash,
    row_mac,
)
from safe_agent.stores.audit_rows import (
    ADDED,
    BLANKED,
    COLUMNS,
    INSERT_COLUMNS,
    INSERT_SQL,
    META,
    SQL_TYPES,
    TABLE,
    TRIGGERS,
    AuditEvent,
    to_row,
)

__all__ = [
    "COLUMNS",
    "GENESIS",
    "TABLE",
    "AuditEvent",
    "AuditLog",
    "AuditMissing",
    "AuditTampered",
    "ChainCheck",
    "Head",
]


class AuditTampered(Exception):
    """The log does not verify."""


class AuditMissing(AuditTampered):
    """The audit file or its table is not there."""


def _existing(conn: sqlite3.Connection, ids: list[Any]) -> set[Any]:
    """The subset of `ids` already in the log."""
    placeholders = ",".join("?" * len(ids))
    return {
        r[0]
        for r in conn.execute(
            f"SELECT event_id FROM {TABLE} WHERE event_id IN ({placeholders})", ids
        )
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def operator_event(kind: str, operator_id: str, detail: str, data: dict[str, Any]) -> AuditEvent:
    """An audit row for an operator's action on the log itself (adopt, retain, anchor export)."""
    return {
        "event_id": uuid.uuid4().hex,
        "timestamp": _now(),
        "node": "operator",
        "kind": kind,
        "decision": kind,
        "reason_code": kind,
        "policy_id": "operator",
        "detail": detail,
        "user_id": operator_id,
        "approver_id": operator_id,
        "input": data,
        "success": True,
    }


class AuditLog:
    """The audit table in its own SQLite file, keyed by `key` and anchored in `anchors`."""

    def __init__(
        self,
        path: str | Path,
        *,
        key: bytes | None = None,
        anchors: AuditAnchors | None = None,
        create: bool = True,
    ) -> None:
        """Open the log; with `create`, make the file, table, triggers and first anchor if missing.

        Without `key`, rows get no MAC and `verify` checks the plain chain only (for tests and
        readers); `anchors` needs a key. With `create=False` nothing is ever created: `verify`
        reports a missing file or table, and reading methods raise AuditMissing.
        """
        if anchors is not None and key is None:
            raise ValueError("anchoring the audit log needs its key")
        self.path, self.key, self.anchors, self.create = str(path), key, anchors, create
        self._written: Head | None = None
        if not create:
            return
        with session(self.path) as db, immediate(db):
            conn = db.conn
            have = {r[1] for r in conn.execute(f"PRAGMA table_info({TABLE})")}
            if not have:
                cols = ", ".join(
                    f"{c} {SQL_TYPES[t]}"
                    + (
                        " PRIMARY KEY"
                        if c == "seq"
                        else " NOT NULL"
                        if c in ("event_id", "timestamp", "hash")
                        else ""
                    )
                    for c, t in COLUMNS.items()
                )
                conn.execute(f"CREATE TABLE {TABLE} ({cols})")
                conn.execute(
                    f"CREATE UNIQUE INDEX IF NOT EXISTS idx_{TABLE}_event_id ON {TABLE} (event_id)"
                )
                conn.execute(
                    f"CREATE INDEX IF NOT EXISTS idx_{TABLE}_thread_id ON {TABLE} (thread_id)"
                )
            elif (
                "mac" not in have
            ):  # a log from before audit keys: add the columns, widen the UPDATE trigger
                for column, kind in ADDED.items():
                    conn.execute(f"ALTER TABLE {TABLE} ADD COLUMN {column} {SQL_TYPES[kind]}")
                conn.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_update")
            for sql in TRIGGERS:
                conn.execute(sql)
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {META} (name TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            conn.execute(f"INSERT OR IGNORE INTO {META} VALUES ('log_id', ?)", [uuid.uuid4().hex])
            empty = conn.execute(f"SELECT 1 FROM {TABLE} LIMIT 1").fetchone() is None
            log_id = self._log_id(conn)
        if (
            anchors is not None and empty and anchors.read() is None
        ):  # a new log starts anchored at row 0
            anchors.advance(self._head(log_id, 0, GENESIS, 0))

    @staticmethod
    def _log_id(conn: sqlite3.Connection) -> str | None:
        try:
            row = conn.execute(f"SELECT value FROM {META} WHERE name = 'log_id'").fetchone()
        except sqlite3.OperationalError:
            return None
        return row[0] if row else None

    def _head(self, log_id: str | None, seq: int, hash_: str, legacy_through: int) -> Head:
        assert self.key is not None
        return Head(log_id or "", seq, hash_, key_id(self.key), legacy_through, _now()).signed(
            self.key
        )

    def _follows(self, conn: sqlite3.Connection, anchor: Head | None, log_id: str | None) -> bool:
        """Whether the stored anchor is genuine and names a row of this chain, so it may advance.

        An anchor that does not (cut, replaced or recreated log, forged anchor) stays where it is:
        the evidence is kept until an operator looks (`verify`) and adopts the log.
        """
        if anchor is None or self.key is None or anchor.log_id != log_id:
            return False
        if anchor != self._written and not anchor.verifies(
            self.key
        ):  # the head this process wrote: known good
            return False
        if anchor.seq == 0:
            return anchor.hash == GENESIS
        row = conn.execute(f"SELECT hash FROM {TABLE} WHERE seq = ?", [anchor.seq]).fetchone()
        return row is not None and row[0] == anchor.hash

    def _write(
        self,
        rows: list[dict[str, Any]],
        prepare: Callable[[sqlite3.Connection], list[dict[str, Any]]] | None = None,
    ) -> tuple[int, str | None, int, str]:
        """Chain, key and insert rows not yet written (by event_id) in one transaction.

        Then move the anchor. `prepare` runs first inside the transaction and returns more rows
        (retention's UPDATE and its record commit together). Returns how many rows were written,
        the log id and the new head.
        """
        if not self.create:
            self._require_table()
        anchor = self.anchors.read() if self.anchors is not None else None
        with session(self.path) as db:
            conn = db.conn
            with immediate(db):
                rows = rows + (prepare(conn) if prepare is not None else [])
                # Inside the write lock: check again (another writer may have won) and chain.
                seen = _existing(conn, [r["event_id"] for r in rows])
                log_id = self._log_id(conn)
                follows = self._follows(conn, anchor, log_id)
                last = conn.execute(
                    f"SELECT seq, hash FROM {TABLE} ORDER BY seq DESC LIMIT 1"
                ).fetchone()
                seq, prev = last if last else (0, GENESIS)
                batch: list[list[Any]] = []
                for row in rows:  # the chain is computed row by row, in order
                    if row["event_id"] in seen:
                        continue
                    seen.add(row["event_id"])
                    seq += 1
                    row["seq"], row["prev_hash"] = seq, prev
                    row["hash"] = prev = row_hash(row)
                    row["mac"] = (
                        row_mac(self.key, log_id or "", seq, prev) if self.key is not None else None
                    )
                    batch.append([row.get(c) for c in INSERT_COLUMNS])
                if batch:
                    # Plain INSERT, not OR IGNORE: `seen` is exact inside this transaction, and a
                    # silently skipped row would break the chain; a UNIQUE violation rolls it all
                    # back.
                    conn.executemany(INSERT_SQL, batch)
        if batch and follows and anchor is not None and self.anchors is not None:
            # After the commit: a crash here leaves the anchor one batch behind, never ahead of the
            # log.
            self._written = self._head(log_id, seq, prev, anchor.legacy_through)
            self.anchors.advance(self._written)
        return len(batch), log_id, seq, prev

    def append(self, events: list[AuditEvent]) -> int:
        """Write the events not yet written (by event_id), chained, in one transaction.

        Returns how many were written.
        """
        if not events:
            return 0
        with session(self.path) as db:
            # Events already written are dropped on a plain read, before redacting them: rows
            # are never deleted (append-only triggers), so "written" cannot become "unwritten".
            written = _existing(db.conn, [e.get("event_id") for e in events])
        rows = [to_row(e) for e in events if e.get("event_id") not in written]
        return self._write(rows)[0] if rows else 0

    def records(
        self, *, thread_id: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Return rows oldest first, optionally for one thread and only the last `limit`."""
        where, params = ("thread_id = ?", [thread_id]) if thread_id else (None, [])
        if not self.create:
            self._require_table()
        with session(self.path) as db:
            rows = list(db[TABLE].rows_where(where, params, order_by="seq desc", limit=limit))
        rows.reverse()
        return [_decoded(row) for row in rows]

    def iter_records(
        self, *, thread_id: str | None = None, since: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Yield every row oldest first, optionally of one thread and at or after an ISO time."""
        clauses = [
            c for c, v in (("thread_id = ?", thread_id), ("timestamp >= ?", since)) if v is not None
        ]
        params = [v for v in (thread_id, since) if v is not None]
        self._require_table()
        with session(self.path) as db:
            for row in db[TABLE].rows_where(" AND ".join(clauses) or None, params, order_by="seq"):
                yield _decoded(row)

    def _require_table(self) -> None:
        if not Path(self.path).exists():
            raise AuditMissing(f"audit log missing: {self.path} does not exist")
        with session(self.path) as db:
            if TABLE not in db.table_names():
                raise AuditMissing(f"audit log {self.path} has no {TABLE} table (dropped)")

    def verify(self, *, exported: Head | None = None) -> ChainCheck:
        """Check the chain, every MAC, the anchor and an exported head.

        The result names the first row or range that is wrong.
        """
        anchor = self.anchors.read() if self.anchors is not None else None
        try:
            self._require_table()
        except AuditMissing as exc:
            where = f"; the anchor names row {anchor.seq}" if anchor else ""
            return ChainCheck(
                False,
                0,
                1 if anchor and anchor.seq else None,
                f"{exc}{where}",
                self.key is not None,
                anchor.seq if anchor else None,
            )
        with session(self.path) as db:
            log_id = self._log_id(db.conn)
            rows = db.conn.execute(f"SELECT * FROM {TABLE} ORDER BY seq")
            names = [d[0] for d in rows.description]
            return check_chain(
                (dict(zip(names, r, strict=True)) for r in rows),
                key=self.key,
                log_id=log_id,
                anchor=anchor,
                expect_anchor=self.anchors is not None,
                exported=exported,
            )

    def _keyed(self) -> tuple[bytes, AuditAnchors]:
        if self.key is None or self.anchors is None:
            raise ValueError("this operation needs the audit key and the anchor store")
        self._require_table()
        return self.key, self.anchors

    def adopt(self, *, operator_id: str) -> Head:
        """Accept the log as it stands and anchor it again.

        The adoption is itself a row, naming the old anchor. For a log written before audit keys
        (its rows up to the first keyed one may lack a MAC) or one whose anchor no longer matches
        (lost anchor, recreated file). Refused while any hash or MAC fails: a broken row is
        evidence to keep, not something to adopt.
        """
        key, anchors = self._keyed()
        with session(self.path) as db:
            first_keyed, last = db.conn.execute(
                f"SELECT MIN(CASE WHEN mac IS NOT NULL THEN seq END), MAX(seq) FROM {TABLE}"
            ).fetchone()
            log_id = self._log_id(db.conn)
        legacy = (first_keyed - 1) if first_keyed is not None else (last or 0)
        with session(self.path) as db:
            rows = db.conn.execute(f"SELECT * FROM {TABLE} ORDER BY seq")
            names = [d[0] for d in rows.description]
            check = check_chain(
                (dict(zip(names, r, strict=True)) for r in rows),
                key=key,
                log_id=log_id,
                anchor=self._head(log_id, 0, GENESIS, legacy),
            )
        if not check.ok:
            raise AuditTampered(f"not adopting a log that does not verify: {check.problem}")
        old = anchors.read()
        was = f"row {old.seq} of log {old.log_id}" if old else "none"
        detail = f"adopted rows 1..{check.rows} ({legacy} without a MAC); previous anchor: {was}"
        data = {
            "rows": check.rows,
            "legacy_through": legacy,
            "previous_anchor": {"seq": old.seq, "log_id": old.log_id, "hash": old.hash}
            if old
            else None,
        }
        _, log_id, seq, head_hash = self._write(
            [to_row(operator_event("audit_adopted", operator_id, detail, data))]
        )
        head = self._head(log_id, seq, head_hash, legacy)
        anchors.replace(head)
        return head

    def retain(self, *, before: str, operator_id: str) -> int:
        """Anonymise the personal fields of the rows written before `before` (ISO 8601 UTC).

        Only the oldest rows are touched, up to the first row at or after `before` (a prefix), and
        legacy rows (no `pii_digest`) are left as they are. A retention row naming the range is
        written in the same transaction: `verify` accepts an anonymised row only below one.
        Returns how many rows were anonymised.
        """
        anonymised = 0

        def prepare(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            nonlocal anonymised
            young, last = conn.execute(
                f"SELECT MIN(CASE WHEN timestamp >= ? THEN seq END), MAX(seq) FROM {TABLE}",
                [before],
            ).fetchone()
            through = (young - 1) if young is not None else (last or 0)
            conn.execute(
                "PRAGMA secure_delete = ON"
            )  # the old bytes are zeroed, not left in free space
            blank = ", ".join(f"{c} = NULL" for c in BLANKED)
            count = anonymised = conn.execute(
                f"UPDATE {TABLE} SET {blank}, anonymised_at = ? WHERE seq <= ? AND anonymised_at "
                "IS NULL AND pii_digest IS NOT NULL",
                [_now(), through],
            ).rowcount
            detail = f"anonymised {count} rows up to row {through}, written before {before}"
            data = {"through_seq": through, "rows": count, "before": before}
            return (
                [to_row(operator_event(RETENTION_KIND, operator_id, detail, data))] if count else []
            )

        self._write([], prepare)
        with session(
            self.path
        ) as db:  # and not left in the WAL either (as far as no reader holds it)
            db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return anonymised

    def signed_head(self, *, operator_id: str) -> Head:
        """Record that an auditor is given the head, then return that head signed.

        Used by `safe-agent audit anchor`.
        """
        self._keyed()
        _, log_id, seq, head_hash = self._write(
            [
                to_row(
                    operator_event(
                        "audit_anchor_exported",
                        operator_id,
                        "head of the log exported for an auditor",
                        {},
                    )
                )
            ]
        )
        return self._head(log_id, seq, head_hash, 0)


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    row["input"] = json.loads(row["input"]) if row.get("input") else None
    row["redacted_paths"] = json.loads(row["redacted_paths"] or "[]")
    row["success"] = None if row["success"] is None else bool(row["success"])
    return row
