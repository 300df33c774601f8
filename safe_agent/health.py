"""Is this Safe Agent home able to serve right now? One cheap report for probes and operators.

An orchestrator probes every few seconds, so `health_report` answers in milliseconds and never
raises: no chain verification, no model, no tool set, a few SQLite statements with a short busy
timeout (a held lock makes a store "degraded", it never stalls the probe). A check is ok,
degraded (serving, but a person should look) or down (cannot serve, or its guarantees cannot be
trusted); the report is the worst. See docs/health.md, `safe-agent health`, graph/http.py.

A check's `detail` is for operators (switch reasons, operator ids, paths); `public` only has
statuses and counts, for an unauthenticated caller of `/health`."""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

from safe_agent.graph.services import DataPaths, Services
from safe_agent.policies.breaker import BreakerPhase, BreakerState
from safe_agent.settings import data_paths
from safe_agent.stores.audit_anchor import AuditAnchors
from safe_agent.stores.audit_rows import META, TABLE
from safe_agent.stores.breakers import BreakerStore
from safe_agent.stores.switches import KillSwitchStore

Status = Literal["ok", "degraded", "down"]
RANK: dict[str, int] = {"ok": 0, "degraded": 1, "down": 2}
MIN_FREE_ENV = "SAFE_AGENT_HEALTH_MIN_FREE_MB"
DEFAULT_MIN_FREE_MB = 100.0
PROBE_TIMEOUT_S = 0.25  # a store whose write lock is held longer than this is "busy"
ANCHOR_LAG_S = 60.0  # a log row this much newer than the anchor: the anchor stopped following
STUDIO_CHECKPOINTS = "studio-checkpoints.sqlite"  # = graph.studio_checkpointer.FILENAME (tested)
STORES = ("checkpoints", "studio_checkpoints", "audit", "safety", "spend", "principals")
_VERIFY = "see `safe-agent audit --verify`"


@dataclass(frozen=True, slots=True)
class Check:
    """One thing that can be wrong: its status, what an operator reads, what anyone may read."""

    name: str
    status: Status
    detail: str
    public: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, *, public: bool = False) -> dict[str, Any]:
        """The JSON shape: name, status, detail (plus `data`, the numbers, for operators)."""
        out = {"name": self.name, "status": self.status}
        return (
            {**out, "detail": self.public}
            if public
            else {**out, "detail": self.detail, "data": self.data}
        )


@dataclass(frozen=True, slots=True)
class HealthReport:
    """Every check of one home at one moment; `status` is the worst of them."""

    status: Status
    checked_at: float
    duration_ms: float
    checks: tuple[Check, ...]
    home: str

    def check(self, name: str) -> Check:
        """Return the check called `name` (KeyError if there is none)."""
        return {c.name: c for c in self.checks}[name]

    def to_dict(self, *, public: bool = False) -> dict[str, Any]:
        """The report as JSON; `public` leaves out the home, reasons, ids and names of things."""
        out: dict[str, Any] = {
            "status": self.status,
            "checked_at": self.checked_at,
            "duration_ms": self.duration_ms,
            "checks": [c.to_dict(public=public) for c in self.checks],
        }
        return out if public else {**out, "home": self.home}


def min_free_mb_default() -> float:
    """The disk threshold: $SAFE_AGENT_HEALTH_MIN_FREE_MB, else 100 (a bad value is ignored)."""
    try:
        return max(0.0, float(os.environ.get(MIN_FREE_ENV) or DEFAULT_MIN_FREE_MB))
    except ValueError:
        return DEFAULT_MIN_FREE_MB


@cache
def _cached_store(kind: type, path: str) -> Any:
    """One BreakerStore / KillSwitchStore per file per process: a probe opens nothing new."""
    return kind(path)


def _connect(path: Path) -> sqlite3.Connection:
    """Open an existing file read-write, never creating it, with the probe's short timeout."""
    return sqlite3.connect(
        path.resolve().as_uri() + "?mode=rw",
        uri=True,
        timeout=PROBE_TIMEOUT_S,
        isolation_level=None,
    )


def _probe_store(path: Path) -> None:
    """Prove a store writable: take the write lock, dirty a page (`BEGIN IMMEDIATE` alone
    succeeds on a read-only file; rewriting `user_version` really tries to write), roll back."""
    conn = _connect(path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        conn.execute(f"PRAGMA user_version = {version}")
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def _check_folder(root: Path) -> Check:
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        return Check("data_folder", "down", f"{root} {what}", f"data folder {what}")
    if not os.access(root, os.W_OK | os.X_OK):
        return Check("data_folder", "down", f"{root} is not writable", "not writable")
    return Check("data_folder", "ok", f"{root} is present and writable", "present and writable")


def _check_disk(root: Path, min_free: float) -> Check:
    where = root
    while not where.exists() and where != where.parent:
        where = where.parent
    free = shutil.disk_usage(where).free / 1_000_000
    status: Status = "down" if free < min_free else "degraded" if free < 2 * min_free else "ok"
    words = {"ok": "enough free space", "degraded": "free space low", "down": "disk nearly full"}
    return Check(
        "disk",
        status,
        f"{free:,.0f} MB free under {where} (down below "
        f"{min_free:,.0f} MB, degraded below {2 * min_free:,.0f} MB)",
        words[status],
        {"free_mb": round(free, 1), "min_free_mb": min_free},
    )


def _check_store(name: str, path: Path, folder_ok: bool) -> Check:
    label = f"store:{name}"
    if not path.exists():  # created by its store on first use, with the right mode: not here
        return (
            Check(
                label, "ok", f"{path.name} not created yet (made on first use)", "not created yet"
            )
            if folder_ok
            else Check(label, "down", f"{path.name} is missing and cannot be created", "missing")
        )
    started = time.perf_counter()
    try:
        _probe_store(path)
    except (sqlite3.Error, OSError) as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return Check(
                label,
                "degraded",
                f"{path.name} is busy: another writer held the lock "
                f"for {PROBE_TIMEOUT_S * 1000:.0f} ms",
                "busy",
            )
        word = "not writable" if "readonly" in str(exc) else "unreachable"
        return Check(label, "down", f"{path.name} is {word}: {type(exc).__name__}: {exc}", word)
    ms = round((time.perf_counter() - started) * 1000, 2)
    return Check(
        label,
        "ok",
        f"{path.name} is reachable and writable ({ms} ms)",
        "reachable and writable",
        {"probe_ms": ms},
    )


def _breaker_item(state: BreakerState, now: float, cooldown: float | None) -> dict[str, Any]:
    phase = state.phase.value if isinstance(state.phase, BreakerPhase) else str(state.phase)
    item: dict[str, Any] = {
        "name": state.name,
        "phase": phase,
        "opened_at": state.opened_at,
        "consecutive_failures": state.consecutive_failures,
    }
    if phase == "open" and isinstance(state.opened_at, int | float):
        item["open_for_s"] = round(now - state.opened_at, 1)
        if cooldown is not None:
            item["retry_in_s"] = round(max(0.0, state.opened_at + cooldown - now), 1)
    return item


def _check_breakers(store: BreakerStore | None, now: float, cooldown: float | None) -> Check:
    items = [_breaker_item(s, now, cooldown) for s in (store.all() if store else [])]
    counts = {p: sum(i["phase"] == p for i in items) for p in ("closed", "open", "half_open")}
    counts["unreadable"] = len(items) - sum(counts.values())
    public = ", ".join(f"{n} {p}" for p, n in counts.items() if n) or "0 breakers"
    tripped = [f"{i['name']} ({i['phase']})" for i in items if i["phase"] != "closed"]
    if not tripped:
        return Check(
            "breakers", "ok", f"{len(items)} breaker(s), none tripped", public, {"breakers": items}
        )
    return Check(
        "breakers",
        "degraded",
        f"{len(tripped)} of {len(items)} not closed: " + ", ".join(tripped),
        public,
        {"breakers": items},
    )


def _check_switches(store: KillSwitchStore | None) -> Check:
    active = store.active() if store is not None else {}
    items = [
        {"target": s.target, "reason": s.reason, "set_by": s.set_by, "set_at": s.set_at}
        for s in sorted(active.values(), key=lambda s: s.target)
    ]
    if not items:
        return Check("kill_switches", "ok", "no kill switch is on", "0 active", {"switches": []})
    kinds = [i["target"].split(":", 1)[0] for i in items]
    public = (
        f"{len(items)} active ("
        + ", ".join(f"{kinds.count(k)} {k}" for k in sorted(set(kinds)))
        + ")"
    )
    named = "; ".join(f"{i['target']} by {i['set_by']}: {i['reason']}" for i in items)
    return Check(
        "kill_switches",
        "down" if "all" in active else "degraded",
        f"{len(items)} on: {named}",
        public,
        {"switches": items},
    )


def _age_s(iso: str | None, now: float) -> float | None:
    try:
        return round(now - datetime.fromisoformat(str(iso)).timestamp(), 1)
    except ValueError:
        return None


def _log_facts(path: Path, seq: int) -> tuple[str | None, int, str | None, str | None]:
    """(log id, last seq, hash of row `seq`, time of the last row): three indexed lookups."""
    conn = _connect(path)
    try:
        meta = conn.execute(f"SELECT value FROM {META} WHERE name = 'log_id'").fetchone()
        last_row = conn.execute(
            f"SELECT seq, timestamp FROM {TABLE} ORDER BY seq DESC LIMIT 1"
        ).fetchone() or (0, None)
        named = conn.execute(f"SELECT hash FROM {TABLE} WHERE seq = ?", [seq]).fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise
        return None, 0, None, None  # an empty file the log never initialised
    finally:
        conn.close()
    return meta[0] if meta else None, last_row[0], named[0] if named else None, last_row[1]


def _check_anchor(paths: DataPaths, now: float) -> Check:
    name, bad = "audit_anchor", "the audit log does not match its anchor"
    anchor = AuditAnchors(paths.safety).read()
    if not paths.audit.exists():
        if anchor is None:
            return Check(name, "ok", "no audit log yet", "no audit log yet")
        return Check(
            name,
            "down",
            f"audit.sqlite is missing but the anchor names row "
            f"{anchor.seq}: the log was deleted; {_VERIFY}",
            bad,
        )
    log_id, last, named_hash, last_time = _log_facts(paths.audit, anchor.seq if anchor else 0)
    age = _age_s(anchor.time, now) if anchor else None
    data = {"log_rows": last, "anchor_seq": anchor.seq if anchor else None, "anchor_age_s": age}
    if anchor is None:
        if last == 0:
            return Check(name, "ok", "empty audit log, not anchored yet", "empty log", data)
        return Check(
            name,
            "degraded",
            f"the audit log has {last} rows and no anchor (a log from "
            f"before anchors, or the safety store was replaced); {_VERIFY}",
            "log not anchored",
            data,
        )
    if anchor.log_id != log_id:
        return Check(
            name,
            "down",
            f"the anchor names another log: audit.sqlite was replaced; {_VERIFY}",
            bad,
            data,
        )
    if anchor.seq > last:
        return Check(
            name,
            "down",
            f"the anchor names row {anchor.seq} but the log ends at row "
            f"{last}: rows were cut off; {_VERIFY}",
            bad,
            data,
        )
    if anchor.seq and named_hash != anchor.hash:
        return Check(
            name,
            "down",
            f"row {anchor.seq} differs from the anchor: the log was rewritten; {_VERIFY}",
            bad,
            data,
        )
    lag = (age or 0.0) - (_age_s(last_time, now) or 0.0) if last > anchor.seq else 0.0
    text = f"anchored at row {anchor.seq} of {last}, {age} s ago"
    if lag > ANCHOR_LAG_S:
        return Check(
            name,
            "degraded",
            f"{text}, but the log has moved on {lag:.0f} s without it; {_VERIFY}",
            "anchor not following the log",
            data,
        )
    return Check(
        name,
        "ok",
        f"{text} (the chain itself is checked by `safe-agent audit --verify`, not here)",
        f"anchored at row {anchor.seq}, {age} s ago",
        data,
    )


def _guarded(name: str, fn: Any, *args: Any) -> Check:
    """Run one check; a failure of the check itself is that check down, never an exception."""
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - a probe reports, it never raises
        return Check(
            name, "down", f"check failed: {type(exc).__name__}: {str(exc)[:200]}", "check failed"
        )


def _store(kind: type, running: Any, safety: Path) -> Any:
    """The running store, else a cached one on an existing safety file, else None (no state)."""
    if running is not None:
        return running
    return _cached_store(kind, str(safety.resolve())) if safety.exists() else None


def health_report(
    source: Services | DataPaths | str | Path | None = None,
    *,
    min_free_mb: float | None = None,
    now: float | None = None,
) -> HealthReport:
    """Check one home: its folder, disk, every store file, breakers, switches, audit anchor.

    Args:
        source: running services (their stores and breaker cool-down are reused), a
            `DataPaths`, a data folder, or None for $SAFE_AGENT_HOME, else ./var. A missing
            file is never created; an existing safety store gets its two tables if missing.
        min_free_mb: down below this many MB free, degraded below twice it; default
            $SAFE_AGENT_HEALTH_MIN_FREE_MB, else 100.
        now: the wall-clock time for ages (default: now).
    """
    started, now = time.perf_counter(), time.time() if now is None else now
    min_free = min_free_mb_default() if min_free_mb is None else min_free_mb
    run = source if isinstance(source, Services) else None
    paths = run.paths if run else source if isinstance(source, DataPaths) else data_paths(source)
    folder = _guarded("data_folder", _check_folder, paths.root)
    checks = [folder, _guarded("disk", _check_disk, paths.root, min_free)]
    for name in STORES:
        path = (
            paths.root / STUDIO_CHECKPOINTS
            if name == "studio_checkpoints"
            else getattr(paths, name)
        )
        checks.append(_guarded(f"store:{name}", _check_store, name, path, folder.status == "ok"))
    cooldown = float(run.config.breaker.cooldown_s) if run else None
    checks += [
        _guarded(
            "breakers",
            lambda: _check_breakers(
                _store(BreakerStore, run and run.breakers, paths.safety), now, cooldown
            ),
        ),
        _guarded(
            "kill_switches",
            lambda: _check_switches(_store(KillSwitchStore, run and run.switches, paths.safety)),
        ),
        _guarded("audit_anchor", _check_anchor, paths, now),
    ]
    status = max((c.status for c in checks), key=RANK.__getitem__)
    return HealthReport(
        status,
        round(now, 3),
        round((time.perf_counter() - started) * 1000, 2),
        tuple(checks),
        str(paths.root),
    )
