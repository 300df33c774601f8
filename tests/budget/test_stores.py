"""The spend ledger and the rate-limit store: reserve, extend, settle, expire, and fail closed."""

from __future__ import annotations

from pathlib import Path

import pytest

from safe_agent.policies.config import BudgetConfig
from safe_agent.policies.verdict import ReasonCode
from safe_agent.stores.rate_limits import RateLimitStore
from safe_agent.stores.spend import SpendLedger, SpendScope

T0 = 1_800_000_000.0
LIMITS = BudgetConfig(
    run_cost_limit_usd=None, user_daily_limit_usd=1.0, soft_limit_ratio=None, reservation_ttl_s=600
)
SCOPE = SpendScope("run-1", "u-1", "acme")


@pytest.fixture
def ledger(tmp_path: Path) -> SpendLedger:
    return SpendLedger(tmp_path / "spend.sqlite")


def _user_day(ledger: SpendLedger, now: float) -> tuple[float, float]:
    line = ledger.report(user_id="u-1", tenant=None, now=now, limits=LIMITS).lines[0]
    return line.spent_usd, line.reserved_usd


def test_ledger_reserve_settle_releases_the_rest(ledger: SpendLedger) -> None:
    assert ledger.reserve("run-1:0", scope=SCOPE, amount_usd=0.6, now=T0, limits=LIMITS).allowed
    assert _user_day(ledger, T0) == (0.0, 0.6)
    refused = ledger.reserve(
        "run-2:0", scope=SpendScope("run-2", "u-1"), amount_usd=0.6, now=T0, limits=LIMITS
    )
    assert refused.reason_code is ReasonCode.USER_DAILY_LIMIT and refused.data[
        "remaining"
    ] == pytest.approx(0.4)
    assert ledger.settle("run-1:0", actual_usd=0.1, now=T0 + 1, scope=SCOPE) == 0.1
    assert _user_day(ledger, T0 + 1) == (0.1, 0.0)
    assert ledger.reserve(
        "run-2:0", scope=SpendScope("run-2", "u-1"), amount_usd=0.6, now=T0 + 2, limits=LIMITS
    ).allowed


def test_ledger_replayed_reserve_and_settle_are_idempotent(ledger: SpendLedger) -> None:
    for _ in range(3):
        assert ledger.reserve("run-1:0", scope=SCOPE, amount_usd=0.3, now=T0, limits=LIMITS).allowed
    assert _user_day(ledger, T0) == (0.0, 0.3)
    ledger.settle("run-1:0", actual_usd=0.2, now=T0, scope=SCOPE)
    assert ledger.settle("run-1:0", actual_usd=0.25, now=T0, scope=SCOPE) == 0.2
    assert len(ledger.rows()) == 1


def test_ledger_expired_hold_stops_counting(ledger: SpendLedger) -> None:
    ledger.reserve("run-1:0", scope=SCOPE, amount_usd=0.9, now=T0, limits=LIMITS)
    assert _user_day(ledger, T0 + 599) == (0.0, 0.9)
    assert _user_day(ledger, T0 + 601) == (0.0, 0.0)
    other = SpendScope("run-2", "u-1")
    assert ledger.reserve(
        "run-2:0", scope=other, amount_usd=0.9, now=T0 + 601, limits=LIMITS
    ).allowed
    assert [r["status"] for r in ledger.rows()] == ["expired", "reserved"]
    ledger.settle(
        "run-1:0", actual_usd=0.05, now=T0 + 700, scope=SCOPE
    )  # a late answer is still recorded
    assert _user_day(ledger, T0 + 700) == (0.05, 0.9)


def test_ledger_extend_holds_more_or_refuses(ledger: SpendLedger) -> None:
    ledger.reserve("run-1:0", scope=SCOPE, amount_usd=0.5, now=T0, limits=LIMITS)
    assert ledger.extend("run-1:0", amount_usd=0.4, now=T0, limits=LIMITS).allowed
    assert (
        ledger.extend("run-1:0", amount_usd=0.2, now=T0, limits=LIMITS).reason_code
        is ReasonCode.USER_DAILY_LIMIT
    )
    assert (
        ledger.extend("missing", amount_usd=0.01, now=T0, limits=LIMITS).reason_code
        is ReasonCode.POLICY_ERROR
    )
    assert _user_day(ledger, T0) == (0.0, 0.9)


def test_ledger_windows_reset_at_utc_midnight(ledger: SpendLedger) -> None:
    midnight = 1_798_761_600.0  # 2027-01-01 00:00 UTC
    ledger.reserve(
        "run-1:0", scope=SCOPE, amount_usd=1.0, now=midnight - 1, limits=LIMITS, settle=True
    )
    assert not ledger.reserve(
        "run-1:1", scope=SCOPE, amount_usd=0.1, now=midnight - 0.5, limits=LIMITS
    ).allowed
    assert ledger.reserve(
        "run-2:0", scope=SpendScope("run-2", "u-1"), amount_usd=0.1, now=midnight, limits=LIMITS
    ).allowed


def test_stores_fail_closed_when_the_database_is_unusable(tmp_path: Path) -> None:
    ledger = SpendLedger(tmp_path / "spend.sqlite")
    rates = RateLimitStore(tmp_path / "safety.sqlite")
    for name in (
        "spend.sqlite",
        "safety.sqlite",
    ):  # the file is gone and a folder stands in its place
        for suffix in ("", "-wal", "-shm"):
            (tmp_path / f"{name}{suffix}").unlink(missing_ok=True)
        (tmp_path / name).mkdir()
    assert (
        ledger.reserve("k", scope=SCOPE, amount_usd=0.1, now=T0, limits=LIMITS).reason_code
        is ReasonCode.POLICY_ERROR
    )
    assert (
        rates.hit("user:u", hit_id="r", limit=5, window_s=60, now=T0).reason_code
        is ReasonCode.POLICY_ERROR
    )


def test_rate_store_sliding_window_and_replay(tmp_path: Path) -> None:
    rates = RateLimitStore(tmp_path / "safety.sqlite")
    hits = [
        rates.hit("user:u", hit_id=f"r{i}", limit=2, window_s=60, now=T0 + i).allowed
        for i in range(3)
    ]
    assert hits == [True, True, False]
    assert rates.hit("user:u", hit_id="r0", limit=2, window_s=60, now=T0 + 5).allowed, (
        "a replayed run is not counted again"
    )
    assert rates.hit("user:u", hit_id="r3", limit=2, window_s=60, now=T0 + 60.5).allowed, (
        "the oldest slid out"
    )
    assert not rates.hit("user:u", hit_id="r4", limit=2, window_s=60, now=T0 + 60.6).allowed
