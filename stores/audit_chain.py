"""How an audit row is hashed and keyed, and how a run of rows is checked against its anchors.

No I/O: `stores.audit` reads the rows and the anchors and hands them here. The formulas
(`docs/audit.md`):

    pii_digest = sha256(canonical({pii_salt, user_id, session_id, approver_id, input, detail,
                                   result_summary, error}))
    hash       = sha256(canonical({every other hashed column, prev_hash, pii_digest}))
    mac        = HMAC-SHA256(key, log_id 0x1f seq 0x1f hash)

Splitting the personal fields into `pii_digest` is what lets retention blank them (and the
random salt that keeps the digest from being guessed) while `hash` and `mac` still verify. Rows
written before audit keys ("legacy", no `pii_digest`) keep the old formula: sha256 over every
hashed column. A head (of the log, kept by the safety store or exported to an auditor) is
(log_id, seq, hash, key_id, legacy_through, time) and its own MAC.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any

GENESIS = "0" * 64
PERSONAL = ("user_id", "session_id", "approver_id", "input", "detail", "result_summary", "error")
"""Columns retention blanks (with `pii_salt`); covered by `pii_digest`, not directly by `hash`."""
LEGACY_HASHED = (
    "event_id",
    "timestamp",
    "node",
    "kind",
    "decision",
    "reason_code",
    "policy_id",
    "detail",
    "thread_id",
    "run_id",
    "user_id",
    "session_id",
    "tenant",
    "step",
    "tool_name",
    "tool_call_id",
    "input",
    "redacted_paths",
    "result_summary",
    "cost_usd",
    "tokens_in",
    "tokens_out",
    "latency_ms",
    "success",
    "error",
    "retry_count",
    "breaker_state",
    "approver_id",
    "prev_hash",
)
"""What the hash of a legacy row covers: every column of the first schema but seq and hash."""
STRUCTURAL_HASHED = tuple(c for c in LEGACY_HASHED if c not in PERSONAL) + ("pii_digest",)
RETENTION_KIND = "audit_retention"
ANCHOR, EXPORTED = "the anchor in the safety store", "the exported anchor"
HEAD_FORMAT = "safe-agent-audit-head/1"


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()


def pii_digest(row: dict[str, Any]) -> str:
    """Return the digest of a row's personal fields and salt, as stored in `pii_digest`."""
    return hashlib.sha256(_canonical({k: row.get(k) for k in ("pii_salt", *PERSONAL)})).hexdigest()


def row_hash(row: dict[str, Any]) -> str:
    """Return a row's hash: over its structural fields and `pii_digest`.

    A row without one uses the legacy formula.
    """
    fields = LEGACY_HASHED if row.get("pii_digest") is None else STRUCTURAL_HASHED
    return hashlib.sha256(_canonical({k: row.get(k) for k in fields})).hexdigest()


def row_mac(key: bytes, log_id: str, seq: int, hash_: str) -> str:
    """Return the MAC binding a row's hash to its log and position."""
    return hmac.new(key, f"{log_id}\x1f{seq}\x1f{hash_}".encode(), hashlib.sha256).hexdigest()


def key_id(key: bytes) -> str:
    """Return a public fingerprint of the key, to say which key a log was written with."""
    return hmac.new(key, b"safe-agent audit key id", hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Head:
    """The last row of a log as someone outside the audit file saw it, with a MAC over all of it."""

    log_id: str
    seq: int
    hash: str
    key_id: str
    legacy_through: int = 0
    """Rows up to this seq may lack a MAC.

    They were written before audit keys and adopted (`safe-agent audit adopt`).
    """
    time: str = ""
    mac: str = ""

    def signed(self, key: bytes) -> Head:
        """Return a copy with the MAC computed under `key`."""
        return replace(
            self, mac=hmac.new(key, _canonical(self._payload()), hashlib.sha256).hexdigest()
        )

    def verifies(self, key: bytes) -> bool:
        """Say whether the MAC is the one `key` gives."""
        return hmac.compare_digest(self.signed(key).mac, self.mac or "")

    def _payload(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in _SIGNED}  # not asdict(): it deep-copies, 60 µs a call

    def to_json(self) -> str:
        """Serialise as the exported head an auditor keeps."""
        return json.dumps({"format": HEAD_FORMAT, **asdict(self)}, indent=2)

    @classmethod
    def from_json(cls, text: str) -> Head:
        """Parse an exported head; raise ValueError when it is not one."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.pop("format", None) != HEAD_FORMAT:
            raise ValueError(f"not a {HEAD_FORMAT} file")
        try:
            head = cls(**data)
        except TypeError as exc:
            raise ValueError(str(exc)) from None
        if not isinstance(head.seq, int) or not isinstance(head.hash, str):
            raise ValueError("seq must be an integer and hash a string")
        return head


_SIGNED = ("log_id", "seq", "hash", "key_id", "legacy_through", "time")


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """Result of verifying the log: ok, how many rows, and the first thing that is wrong if any."""

    ok: bool
    rows: int
    first_bad_seq: int | None = None
    problem: str = ""
    keyed: bool = False
    """MACs were checked (a key was given)."""
    anchored_seq: int | None = None
    """The safety store's anchor, when it was checked."""
    legacy_rows: int = 0
    """Rows without a MAC accepted because they predate audit keys and were adopted."""
    anonymised_rows: int = 0


def _span(first: int, last: int) -> str:
    return f"row {first} is missing" if first == last else f"rows {first}..{last} are missing"


class _Bad(Exception):
    def __init__(self, seq: int | None, problem: str) -> None:
        super().__init__(problem)
        self.seq, self.problem = seq, problem


def _check_origin(head: Head, what: str, key: bytes | None, log_id: str | None) -> None:
    """Raise _Bad unless `head` was signed with this key and names this log."""
    if key is not None and head.key_id != key_id(key):
        raise _Bad(
            None,
            f"the audit key (id {key_id(key)}) is not the one {what} was signed with "
            f"(id {head.key_id})",
        )
    if key is not None and not head.verifies(key):
        raise _Bad(None, f"{what} does not verify: forged, or signed with another key")
    if head.log_id != log_id:
        raise _Bad(
            None,
            f"the audit file is not the log {what} names (log {head.log_id}, file has {log_id}): "
            "replaced or recreated",
        )


def _check_reach(head: Head, what: str, last: int, seen: dict[int, str]) -> None:
    """Raise _Bad unless the log still holds the row `head` names, unchanged."""
    if head.seq > last:
        raise _Bad(
            last + 1,
            f"{_span(last + 1, head.seq)}: {what} names row {head.seq}, the log ends at row {last}",
        )
    if head.seq > 0 and seen.get(head.seq) != head.hash:
        raise _Bad(
            head.seq,
            f"row {head.seq} is not the row {what} names (hash differs): the chain was rewritten",
        )


def _check_row(
    row: dict[str, Any], prev: str, key: bytes | None, log_id: str | None, legacy_through: int
) -> bool:
    """Raise _Bad unless the row verifies; return True for an accepted legacy row without a MAC."""
    seq = row["seq"]
    if row.get("prev_hash") != prev:
        raise _Bad(
            seq,
            f"row {seq}: prev_hash does not match row {seq - 1} "
            "(rows removed, reordered or inserted)",
        )
    if row.get("anonymised_at") is not None:
        if row.get("pii_digest") is None or any(
            row.get(k) is not None for k in ("pii_salt", *PERSONAL)
        ):
            raise _Bad(seq, f"row {seq}: changed after it was anonymised")
    elif row.get("pii_digest") is not None and pii_digest(row) != row["pii_digest"]:
        raise _Bad(seq, f"row {seq}: content does not match its hash")
    if row_hash(row) != row.get("hash"):
        raise _Bad(seq, f"row {seq}: content does not match its hash")
    if key is None:
        return False
    if row.get("mac") is None:
        if seq <= legacy_through:
            return True
        raise _Bad(seq, f"row {seq}: has no MAC (written without the audit key)")
    if not hmac.compare_digest(row_mac(key, log_id or "", seq, row["hash"]), row["mac"]):
        raise _Bad(
            seq, f"row {seq}: MAC does not verify (written or rewritten without the audit key)"
        )
    return False


def _retained_through(row: dict[str, Any]) -> int:
    try:
        return int(json.loads(row.get("input") or "{}").get("through_seq", 0))
    except (ValueError, TypeError, AttributeError):
        return 0


def check_chain(
    rows: Iterable[dict[str, Any]],
    *,
    key: bytes | None,
    log_id: str | None,
    anchor: Head | None = None,
    expect_anchor: bool = False,
    exported: Head | None = None,
) -> ChainCheck:
    """Walk the rows (oldest first) and compare the end with the anchor and an exported head.

    Args:
        rows: the stored rows, ordered by seq, with columns as stored.
        key: the audit key; None checks the plain chain only.
        log_id: the id in the audit file's meta table.
        anchor: the head the safety store holds (None: none found).
        expect_anchor: a missing anchor is a problem (the caller asked the safety store).
        exported: a head an auditor kept (`safe-agent audit anchor --out FILE`).
    """
    count = legacy = 0
    anonymised: list[int] = []
    try:
        if expect_anchor and anchor is None:
            raise _Bad(
                None,
                "no anchor in the safety store: it was deleted, or the log predates audit keys "
                "(then adopt it: safe-agent audit adopt)",
            )
        for head, what in ((anchor, ANCHOR), (exported, EXPORTED)):
            if head is not None:
                _check_origin(head, what, key, log_id)
        legacy_through = anchor.legacy_through if anchor else 0
        prev, through, seen = GENESIS, 0, {}
        wanted = {h.seq for h in (anchor, exported) if h is not None}
        for row in rows:
            seq = row["seq"]
            if seq != count + 1:
                raise _Bad(count + 1, _span(count + 1, seq - 1))
            count += 1
            legacy += _check_row(row, prev, key, log_id, legacy_through)
            if row.get("anonymised_at") is not None:
                anonymised.append(seq)
            if row.get("kind") == RETENTION_KIND:
                through = max(through, _retained_through(row))
            if seq in wanted:
                seen[seq] = row["hash"]
            prev = row["hash"]
        uncovered = [s for s in anonymised if s > through]
        if uncovered:
            raise _Bad(
                uncovered[0], f"row {uncovered[0]}: anonymised, but no retention row covers it"
            )
        for head, what in ((anchor, ANCHOR), (exported, EXPORTED)):
            if head is not None:
                _check_reach(head, what, count, seen)
    except _Bad as bad:
        return ChainCheck(
            False,
            count,
            bad.seq,
            bad.problem,
            key is not None,
            anchor.seq if anchor else None,
            legacy,
            len(anonymised),
        )
    return ChainCheck(
        True,
        count,
        None,
        "",
        key is not None,
        anchor.seq if anchor else None,
        legacy,
        len(anonymised),
    )
