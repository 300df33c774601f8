"""Decision tables for the pure circuit-breaker rules in `policies.breaker`."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from safe_agent.policies.breaker import (
    BreakerPhase,
    BreakerState,
    check_before_call,
    record_outcome,
)
from safe_agent.policies.config import BreakerConfig
from safe_agent.policies.verdict import Decision, ReasonCode

CFG = BreakerConfig(failure_threshold=5, cooldown_s=60.0)
NAME = "model:openai"
CLOSED = BreakerPhase.CLOSED
OPEN = BreakerPhase.OPEN
HALF = BreakerPhase.HALF_OPEN


def st(
    phase: BreakerPhase = CLOSED,
    failures: int = 0,
    opened: float | None = None,
    probe: float | None = None,
) -> BreakerState:
    """Build a state for the named test breaker."""
    return BreakerState(NAME, phase, failures, opened, probe)


@dataclass(frozen=True)
class Check:
    """One row of the check_before_call table."""

    state: BreakerState
    now: float
    decision: Decision
    reason: ReasonCode
    policy_id: str
    after: BreakerState
    probe: bool = False


CHECK_TABLE = {
    "closed_allows": Check(st(), 100.0, Decision.ALLOW, ReasonCode.OK, "breaker.closed", st()),
    "closed_with_4_failures_allows": Check(
        st(failures=4), 100.0, Decision.ALLOW, ReasonCode.OK, "breaker.closed", st(failures=4)
    ),
    "open_denies_right_after_opening": Check(
        st(OPEN, 5, 100.0),
        100.0,
        Decision.DENY,
        ReasonCode.BREAKER_OPEN,
        "breaker.open",
        st(OPEN, 5, 100.0),
    ),
    "open_denies_just_before_cooldown": Check(
        st(OPEN, 5, 100.0),
        159.9,
        Decision.DENY,
        ReasonCode.BREAKER_OPEN,
        "breaker.open",
        st(OPEN, 5, 100.0),
    ),
    "open_after_cooldown_grants_probe": Check(
        st(OPEN, 5, 100.0),
        160.0,
        Decision.ALLOW,
        ReasonCode.OK,
        "breaker.half_open",
        st(HALF, 5, 100.0, 160.0),
        probe=True,
    ),
    "half_open_denies_second_caller": Check(
        st(HALF, 5, 100.0, 160.0),
        160.0,
        Decision.DENY,
        ReasonCode.BREAKER_HALF_OPEN_PROBE,
        "breaker.half_open",
        st(HALF, 5, 100.0, 160.0),
    ),
    "half_open_denies_while_probe_fresh": Check(
        st(HALF, 5, 100.0, 160.0),
        219.9,
        Decision.DENY,
        ReasonCode.BREAKER_HALF_OPEN_PROBE,
        "breaker.half_open",
        st(HALF, 5, 100.0, 160.0),
    ),
    "stale_probe_handed_over": Check(
        st(HALF, 5, 100.0, 160.0),
        220.0,
        Decision.ALLOW,
        ReasonCode.OK,
        "breaker.half_open",
        st(HALF, 5, 100.0, 220.0),
        probe=True,
    ),
    "half_open_without_probe_grants_probe": Check(
        st(HALF, 5, 100.0, None),
        170.0,
        Decision.ALLOW,
        ReasonCode.OK,
        "breaker.half_open",
        st(HALF, 5, 100.0, 170.0),
        probe=True,
    ),
}


@pytest.mark.parametrize("row", CHECK_TABLE.values(), ids=CHECK_TABLE.keys())
def test_check_before_call_table(row: Check) -> None:
    verdict, after = check_before_call(state=row.state, now=row.now, config=CFG)
    assert (verdict.decision, verdict.reason_code, verdict.policy_id) == (
        row.decision,
        row.reason,
        row.policy_id,
    )
    assert after == row.after
    assert verdict.data.get("probe", False) is row.probe


def test_open_deny_says_how_long_remains() -> None:
    verdict, _ = check_before_call(state=st(OPEN, 5, 100.0), now=130.0, config=CFG)
    assert verdict.data["retry_in_s"] == pytest.approx(30.0)
    assert "30.0 s" in verdict.detail


RECORD_TABLE = {
    # (state, success, now, expected)
    "closed_success_resets_count": (st(failures=4), True, 10.0, st()),
    "closed_failure_counts": (st(failures=3), False, 10.0, st(failures=4)),
    "closed_fifth_failure_opens": (st(failures=4), False, 10.0, st(OPEN, 5, 10.0)),
    "probe_success_closes": (st(HALF, 5, 100.0, 160.0), True, 161.0, st()),
    "probe_failure_reopens_with_fresh_cooldown": (
        st(HALF, 5, 100.0, 160.0),
        False,
        161.0,
        st(OPEN, 6, 161.0),
    ),
    "late_failure_while_open_keeps_opened_at": (
        st(OPEN, 5, 100.0),
        False,
        130.0,
        st(OPEN, 6, 100.0),
    ),
    "late_success_while_open_closes": (st(OPEN, 5, 100.0), True, 130.0, st()),
}


@pytest.mark.parametrize(
    ("state", "success", "now", "expected"), RECORD_TABLE.values(), ids=RECORD_TABLE.keys()
)
def test_record_outcome_table(
    state: BreakerState, success: bool, now: float, expected: BreakerState
) -> None:
    assert record_outcome(state=state, success=success, now=now, config=CFG) == expected


def _fail(state: BreakerState, n: int, now: float = 0.0) -> BreakerState:
    for _ in range(n):
        state = record_outcome(state=state, success=False, now=now, config=CFG)
    return state


def test_opens_after_exactly_five_consecutive_failures() -> None:
    state = _fail(st(), 4)
    assert state.phase is CLOSED
    assert check_before_call(state=state, now=1.0, config=CFG)[0].allowed
    state = _fail(state, 1)
    assert state.phase is OPEN
    assert (
        check_before_call(state=state, now=1.0, config=CFG)[0].reason_code
        is ReasonCode.BREAKER_OPEN
    )


def test_success_between_failures_resets_the_count() -> None:
    state = _fail(st(), 4)
    state = record_outcome(state=state, success=True, now=0.0, config=CFG)
    state = _fail(state, 4)
    assert (state.phase, state.consecutive_failures) == (CLOSED, 4)


def test_threshold_comes_from_config() -> None:
    state = record_outcome(
        state=st(), success=False, now=0.0, config=BreakerConfig(failure_threshold=1)
    )
    assert state.phase is OPEN


def test_full_cycle_one_probe_then_reopen_then_close() -> None:
    state = _fail(st(), 5, now=0.0)
    first, state = check_before_call(state=state, now=60.0, config=CFG)
    second, state = check_before_call(state=state, now=60.0, config=CFG)
    assert first.allowed and first.data["probe"] is True
    assert second.reason_code is ReasonCode.BREAKER_HALF_OPEN_PROBE
    state = record_outcome(state=state, success=False, now=61.0, config=CFG)
    assert (state.phase, state.opened_at) == (OPEN, 61.0)
    verdict, state = check_before_call(state=state, now=120.0, config=CFG)
    assert verdict.reason_code is ReasonCode.BREAKER_OPEN
    assert verdict.data["retry_in_s"] == pytest.approx(1.0)
    verdict, state = check_before_call(state=state, now=121.0, config=CFG)
    assert verdict.data.get("probe") is True
    state = record_outcome(state=state, success=True, now=122.0, config=CFG)
    assert state == st()


def _garbage_phase() -> BreakerState:
    state = st()
    object.__setattr__(state, "phase", "exploded")
    return state


MALFORMED = {
    "garbage_phase": (_garbage_phase(), 1.0),
    "none_name": (BreakerState(None), 1.0),  # type: ignore[arg-type]
    "empty_name": (BreakerState(""), 1.0),
    "negative_failures": (st(failures=-1), 1.0),
    "open_without_opened_at": (st(OPEN, 5, None), 1.0),
    "opened_at_not_a_number": (st(OPEN, 5, "yesterday"), 1.0),  # type: ignore[arg-type]
    "now_is_nan": (st(OPEN, 5, 0.0), math.nan),
}


@pytest.mark.parametrize(("state", "now"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_state_denies_with_policy_error(state: BreakerState, now: float) -> None:
    verdict, after = check_before_call(state=state, now=now, config=CFG)
    assert verdict.decision is Decision.DENY
    assert verdict.reason_code is ReasonCode.POLICY_ERROR
    assert after is state


@pytest.mark.parametrize(("state", "now"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_state_cannot_be_recorded(state: BreakerState, now: float) -> None:
    with pytest.raises(ValueError):
        record_outcome(state=state, success=True, now=now, config=CFG)
