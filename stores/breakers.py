"""Circuit breakers that outlive a run: one SQLite row per guarded dependency.

A breaker only helps if every run and every worker process sees the same state, so the state
lives in a file, not in memory. Each call uses this thread's cached connection
(`stores._sqlite.session`) and first reads without a lock: if the rules say nothing changes (the
common case: closed and allowed, or a success on a healthy breaker) it returns at once. Any
change is decided again on a fresh read inside one `BEGIN IMMEDIATE` transaction, which makes
taking the single half-open probe atomic across threads and processes. The decisions themselves
are the pure rules in `policies.breaker`.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import sqlite_utils

from safe_agent.policies.breaker import (
    BreakerPhase,
    BreakerState,
    BreakerTransition,
    check_before_call,
    record_outcome,
    transition_of,
)
from safe_agent.policies.config import BreakerConfig
from safe_agent.policies.verdict import ReasonCode, Verdict, deny
from safe_agent.stores._sqlite import immediate, session

POLICY_STORE = "breaker.store"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS breakers (
    name TEXT PRIMARY KEY,
    phase TEXT NOT NULL,
    consecutive_failures INTEGER NOT NULL,
    opened_at REAL,
    probe_started_at REAL,
    updated_at REAL
)
"""

_UPSERT = """
INSERT INTO breakers (name, phase, consecutive_failures, opened_at, probe_started_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT(name) DO UPDATE SET
    phase = excluded.phase,
    consecutive_failures = excluded.consecutive_failures,
    opened_at = excluded.opened_at,
    probe_started_at = excluded.probe_started_at,
    updated_at = excluded.updated_at
"""

_COLUMNS = "name, phase, consecutive_failures, opened_at, probe_started_at"


def _to_state(row: tuple[Any, ...]) -> BreakerState:
    """Build a state from a row without judging it.

    An unknown phase is kept as the raw string on purpose: `check_before_call` then denies with
    POLICY_ERROR instead of this loader guessing "closed" and letting calls through.
    """
    name, phase, failures, opened_at, probe_started_at = row
    try:
        phase = BreakerPhase(phase)
    except ValueError:
        pass
    return BreakerState(
        name=name,
        phase=phase,
        consecutive_failures=failures,
        opened_at=opened_at,
        probe_started_at=probe_started_at,
    )


class BreakerStore:
    """Shared circuit breakers persisted in one SQLite file.

    Safe to use from many threads and processes at once: connections are per thread and process,
    and every state change is an immediate transaction.
    """

    def __init__(self, path: str | Path) -> None:
        """Remember the file and create the `breakers` table if it is missing.

        Args:
            path: the SQLite file; parent folders are created. ":memory:" is not useful here,
                since each call gets a fresh private database that is empty.
        """
        self.path = path
        with session(self.path) as db:
            db.execute(_SCHEMA)

    def _read(self, db: sqlite_utils.Database, name: str) -> BreakerState:
        """Return the stored state of `name`, or a fresh closed breaker if none is stored."""
        row = db.conn.execute(f"SELECT {_COLUMNS} FROM breakers WHERE name = ?", [name]).fetchone()
        return BreakerState(name=name) if row is None else _to_state(row)

    def _write(self, db: sqlite_utils.Database, state: BreakerState, now: float) -> None:
        """Store `state` (inside the caller's transaction: raw SQL, no sqlite_utils auto-commit)."""
        phase = state.phase.value if isinstance(state.phase, BreakerPhase) else state.phase
        db.execute(
            _UPSERT,
            [
                state.name,
                phase,
                state.consecutive_failures,
                state.opened_at,
                state.probe_started_at,
                now,
            ],
        )

    def acquire(
        self,
        name: str,
        *,
        now: float,
        config: BreakerConfig,
        transitions: list[BreakerTransition] | None = None,
    ) -> tuple[Verdict, BreakerState]:
        """Ask whether a call to `name` may start, atomically taking the half-open probe if due.

        A decision that changes nothing is taken on a plain read. A change is re-read, decided and
        written in one immediate transaction, so of several threads or processes racing for the
        probe exactly one is allowed. A database error denies with
        POLICY_ERROR instead of raising: if we cannot tell the breaker's state we must not call.

        Args:
            name: the breaker, e.g. "model:openai" or "tool:issue_refund".
            now: the current wall-clock time in seconds, shared by all processes.
            config: threshold and cooldown.
            transitions: if given, a phase change this call made (taking the probe) is appended,
                so the caller can audit it.

        Returns:
            The verdict and the breaker's state after this decision.
        """
        try:
            with session(self.path) as db:
                # Fast path: most calls change nothing (closed & allow, open & deny). Such a
                # decision is correct as of the read, so it needs no write lock.
                before = self._read(db, name)
                verdict, after = check_before_call(state=before, now=now, config=config)
                if after == before:
                    return verdict, after
                # A transition (e.g. taking the probe) must be decided again under the write
                # lock on a fresh read: of several racers only the first sees the old state.
                with immediate(db):
                    before = self._read(db, name)
                    verdict, after = check_before_call(state=before, now=now, config=config)
                    if after != before:
                        self._write(db, after, now)
                        _note(
                            transitions,
                            transition_of(before, after, now=now, cause="probe_granted"),
                        )
                    return verdict, after
        except sqlite3.Error as exc:
            verdict = deny(
                ReasonCode.POLICY_ERROR,
                f"breaker {name} state is unreadable: {type(exc).__name__}",
                POLICY_STORE,
                name=name,
            )
            return verdict, BreakerState(name=name)

    def record(
        self,
        name: str,
        *,
        success: bool,
        now: float,
        config: BreakerConfig,
        transitions: list[BreakerTransition] | None = None,
    ) -> BreakerState:
        """Fold the outcome of a guarded call into the shared breaker, atomically.

        Args:
            name: the breaker the call went through.
            success: whether the dependency answered properly.
            now: the current wall-clock time in seconds.
            config: threshold and cooldown.
            transitions: if given, a phase change this outcome caused is appended.

        Returns:
            The breaker's state after the outcome.

        Raises:
            ValueError: if the stored row is malformed; the row is left as is, so `acquire`
                keeps denying until an operator calls `reset`.
        """
        with session(self.path) as db:
            before = self._read(db, name)
            state = record_outcome(state=before, success=success, now=now, config=config)
            if (
                state == before
            ):  # e.g. a success on a closed breaker with no failures: nothing to write
                return state
            with immediate(
                db
            ):  # count from a fresh read under the write lock, so no update is lost
                before = self._read(db, name)
                state = record_outcome(state=before, success=success, now=now, config=config)
                if state != before:
                    self._write(db, state, now)
                    cause = "attempt_succeeded" if success else "attempt_failed"
                    _note(transitions, transition_of(before, state, now=now, cause=cause))
                return state

    def get(self, name: str) -> BreakerState:
        """Return the stored state of `name` (a closed breaker if it has never been used)."""
        with session(self.path) as db:
            return self._read(db, name)

    def all(self) -> list[BreakerState]:
        """Return every stored breaker, sorted by name, for dashboards and the operator CLI."""
        with session(self.path) as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM breakers ORDER BY name").fetchall()
        return [_to_state(row) for row in rows]

    def reset(
        self,
        name: str,
        *,
        now: float | None = None,
        transitions: list[BreakerTransition] | None = None,
    ) -> BreakerState:
        """Close `name` by forgetting it: the operator's override once a dependency is fixed.

        Args:
            name: the breaker to close.
            now: when, for the reported transition (needed only with `transitions`).
            transitions: if given, the phase change (e.g. open → closed) is appended, with
                cause "operator_reset", so the operator's command can audit it.

        Returns:
            The state the breaker had before (a fresh closed one if none was stored), read in
            the same transaction as the delete, so the audit names what was really reset.
        """
        if transitions is not None and now is None:
            raise TypeError("reset(transitions=...) needs now")
        with session(self.path) as db, immediate(db):
            before = self._read(db, name)
            db.execute("DELETE FROM breakers WHERE name = ?", [name])
        if now is not None:
            after = BreakerState(name=name)
            _note(transitions, transition_of(before, after, now=now, cause="operator_reset"))
        return before

    def force_open(
        self,
        name: str,
        *,
        now: float,
        transitions: list[BreakerTransition] | None = None,
    ) -> tuple[BreakerState, BreakerState]:
        """Trip `name` now, as if its failures had just reached the threshold: the operator's brake.

        The breaker is stored OPEN with `opened_at=now` and no probe in flight, so it refuses
        calls for one cool-down and then admits the single half-open probe like any open
        breaker: it does not hold. To hold a dependency off until a person says otherwise,
        use a kill switch (`safe-agent switch-off`), which is what holds are for. The failure
        count is kept (a malformed row is overwritten: this is the operator's override).

        Returns:
            The states before and after, read and written in one immediate transaction.
        """
        with session(self.path) as db, immediate(db):
            before = self._read(db, name)
            failures = before.consecutive_failures
            if isinstance(failures, bool) or not isinstance(failures, int) or failures < 0:
                failures = 0
            after = BreakerState(
                name=name,
                phase=BreakerPhase.OPEN,
                consecutive_failures=failures,
                opened_at=now,
                probe_started_at=None,
            )
            self._write(db, after, now)
        _note(transitions, transition_of(before, after, now=now, cause="operator_force_open"))
        return before, after


def _note(
    transitions: list[BreakerTransition] | None, transition: BreakerTransition | None
) -> None:
    """Append a transition to the caller's list, if it asked for one and there was one."""
    if transitions is not None and transition is not None:
        transitions.append(transition)
