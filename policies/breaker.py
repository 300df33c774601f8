"""Circuit breaker rules, as pure functions over an immutable state.

One breaker guards one dependency ("model:openai", "tool:issue_refund") and is shared by every
run and process through `stores.breakers`. This module only decides: it does no I/O and reads no
clock (callers pass `now`), so every transition can be tested as a table of inputs and outputs.

Phases:
    CLOSED     calls go through; consecutive failures are counted.
    OPEN       calls are refused until `cooldown_s` has passed since the breaker opened.
    HALF_OPEN  exactly one probe call is in flight; everyone else is refused until it reports.
               A probe that never reports (its process died) is handed to the next caller
               once it is `cooldown_s` old, so a crash cannot wedge the breaker half-open.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import wraps

from safe_agent.policies.config import BreakerConfig
from safe_agent.policies.verdict import ReasonCode, Verdict, allow, deny

POLICY_CLOSED = "breaker.closed"
POLICY_OPEN = "breaker.open"
POLICY_HALF_OPEN = "breaker.half_open"
POLICY_CHECK = "breaker.check"


class BreakerPhase(StrEnum):
    """Where a breaker is in its closed → open → half-open cycle."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerState:
    """The persisted facts about one breaker.

    Attributes:
        name: which dependency this guards, e.g. "model:openai" or "tool:issue_refund".
        phase: closed, open or half-open.
        consecutive_failures: failures since the last success.
        opened_at: when the breaker last opened (None while it never has since closing).
        probe_started_at: set while the single half-open probe is in flight.
    """

    name: str
    phase: BreakerPhase = BreakerPhase.CLOSED
    consecutive_failures: int = 0
    opened_at: float | None = None
    probe_started_at: float | None = None


@dataclass(frozen=True, slots=True)
class BreakerTransition:
    """One change of phase, for the audit log: which breaker, from and to, when, and why.

    `cause` is "attempt_failed", "attempt_succeeded", "probe_granted", "probe_taken_over",
    "operator_reset" or "operator_force_open".
    """

    name: str
    before: str
    after: str
    at: float
    cause: str
    consecutive_failures: int = 0


def transition_of(
    before: BreakerState, after: BreakerState, *, now: float, cause: str
) -> BreakerTransition | None:
    """Return the transition from `before` to `after`, or None if the phase did not change.

    A stale probe handed to a new caller keeps the phase (half-open) but is still reported, as
    "probe_taken_over": the audit must show that a second attempt was let through.
    """
    old = before.phase.value if isinstance(before.phase, BreakerPhase) else str(before.phase)
    new = after.phase.value if isinstance(after.phase, BreakerPhase) else str(after.phase)
    taken_over = (
        new == old == BreakerPhase.HALF_OPEN.value
        and after.probe_started_at != before.probe_started_at
    )
    if old == new and not taken_over:
        return None
    if taken_over:
        cause = "probe_taken_over"
    return BreakerTransition(before.name, old, new, now, cause, after.consecutive_failures)


CheckFn = Callable[..., tuple[Verdict, BreakerState]]


def _guard(fn: CheckFn) -> CheckFn:
    """Turn any exception in a check into a POLICY_ERROR deny, so a bug never lets a call through.

    `verdict.fail_closed` returns only a Verdict; a breaker check must also return the state, and
    on error that is the caller's state untouched (nothing is written that we did not decide).
    """

    @wraps(fn)
    def guarded(
        *, state: BreakerState, now: float, config: BreakerConfig
    ) -> tuple[Verdict, BreakerState]:
        try:
            return fn(state=state, now=now, config=config)
        except Exception as exc:  # noqa: BLE001 - a policy bug must deny, not crash
            verdict = deny(
                ReasonCode.POLICY_ERROR,
                f"policy {POLICY_CHECK} failed: {type(exc).__name__}",
                POLICY_CHECK,
            )
            return verdict, state

    return guarded


def _validated(state: BreakerState, now: float) -> tuple[BreakerPhase, float | None, float | None]:
    """Check a state read from storage before trusting it, and return its coerced phase and times.

    States come back from a shared file any process may have written, so garbage must be caught
    here and denied rather than silently read as "closed".

    Raises:
        ValueError: if the state or `now` cannot describe a real breaker.
    """
    if not isinstance(state.name, str) or not state.name:
        raise ValueError("breaker name must be a non-empty string")
    phase = BreakerPhase(state.phase)
    failures = state.consecutive_failures
    if isinstance(failures, bool) or not isinstance(failures, int) or failures < 0:
        raise ValueError("consecutive_failures must be a non-negative int")
    if isinstance(now, bool) or not isinstance(now, int | float) or not math.isfinite(now):
        raise ValueError("now must be a finite number")
    times = []
    for label, value in (
        ("opened_at", state.opened_at),
        ("probe_started_at", state.probe_started_at),
    ):
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValueError(f"{label} must be a finite number or None")
        times.append(value)
    if phase is BreakerPhase.OPEN and state.opened_at is None:
        raise ValueError("an open breaker needs opened_at")
    return phase, times[0], times[1]


def _grant_probe(state: BreakerState, now: float, detail: str) -> tuple[Verdict, BreakerState]:
    """Hand the single half-open probe to this caller and record when it started."""
    new = replace(state, phase=BreakerPhase.HALF_OPEN, probe_started_at=now)
    return allow(POLICY_HALF_OPEN, detail, probe=True, name=state.name), new


@_guard
def check_before_call(
    *, state: BreakerState, now: float, config: BreakerConfig
) -> tuple[Verdict, BreakerState]:
    """Decide whether a call to the guarded dependency may start now, and return the next state.

    The caller must persist the returned state atomically with this decision (see
    `stores.breakers.BreakerStore.acquire`): taking the half-open probe is a write, and two
    callers reading the same old state must not both get it.

    Args:
        state: the breaker as last stored.
        now: the current time in seconds (any monotonic-enough epoch shared by all processes).
        config: threshold and cooldown.

    Returns:
        The verdict (allow, or deny with BREAKER_OPEN / BREAKER_HALF_OPEN_PROBE / POLICY_ERROR)
        and the state to store. An allowed probe carries `data["probe"] is True`.
    """
    phase, opened_at, probe_started_at = _validated(state, now)
    cooldown = float(config.cooldown_s)
    if phase is BreakerPhase.CLOSED:
        return allow(POLICY_CLOSED, f"breaker {state.name} is closed", name=state.name), state

    if phase is BreakerPhase.OPEN:
        assert opened_at is not None  # guaranteed by _validated
        elapsed = now - opened_at
        if elapsed < cooldown:
            remaining = cooldown - elapsed
            verdict = deny(
                ReasonCode.BREAKER_OPEN,
                f"breaker {state.name} is open after repeated failures; retry in {remaining:.1f} s",
                POLICY_OPEN,
                name=state.name,
                retry_in_s=remaining,
                consecutive_failures=state.consecutive_failures,
            )
            return verdict, state
        return _grant_probe(state, now, f"breaker {state.name} cooled down; this call is the probe")

    # HALF_OPEN
    if probe_started_at is None:
        return _grant_probe(
            state, now, f"breaker {state.name} is half-open; this call is the probe"
        )
    probe_age = now - probe_started_at
    if probe_age >= cooldown:
        return _grant_probe(
            state, now, f"breaker {state.name} probe went stale; this call takes it over"
        )
    remaining = cooldown - probe_age
    verdict = deny(
        ReasonCode.BREAKER_HALF_OPEN_PROBE,
        f"breaker {state.name} is testing recovery with one call; retry in {remaining:.1f} s",
        POLICY_HALF_OPEN,
        name=state.name,
        retry_in_s=remaining,
    )
    return verdict, state


def record_outcome(
    *, state: BreakerState, success: bool, now: float, config: BreakerConfig
) -> BreakerState:
    """Fold the outcome of one guarded call into the breaker and return the next state.

    A success closes the breaker from any phase (the dependency answered). A failure counts; it
    re-opens a half-open breaker at once (the probe failed: a fresh cooldown starts at `now`) and
    opens a closed one when the count reaches `failure_threshold`. A late failure reported while
    already open keeps the original `opened_at`, so stragglers cannot extend the cooldown.

    Raises:
        ValueError: if the state is malformed. Unlike the check there is no safe default to
            return, and the stored state stays as it was, so the breaker keeps denying.
    """
    phase, _, _ = _validated(state, now)
    if success:
        return BreakerState(name=state.name)
    failures = state.consecutive_failures + 1
    if phase is BreakerPhase.HALF_OPEN:
        return replace(
            state,
            phase=BreakerPhase.OPEN,
            consecutive_failures=failures,
            opened_at=now,
            probe_started_at=None,
        )
    if phase is BreakerPhase.OPEN:
        return replace(state, phase=phase, consecutive_failures=failures)
    if failures >= config.failure_threshold:
        return replace(
            state,
            phase=BreakerPhase.OPEN,
            consecutive_failures=failures,
            opened_at=now,
            probe_started_at=None,
        )
    return replace(state, phase=phase, consecutive_failures=failures)
