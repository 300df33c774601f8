"""Decision table for the per-run budget, pricing of known and unknown models, and retry policy."""

from __future__ import annotations

import pytest

from policies.budget import RunUsage, check_before_request
from policies.config import BudgetConfig, PricingConfig, RetryConfig
from policies.pricing import cost_usd, price_for
from policies.retry import backoff_delay, is_transient
from policies.verdict import Decision, ReasonCode

PRICING = PricingConfig()
MINI = price_for(model="gpt-4o-mini", pricing=PRICING)


@pytest.mark.parametrize(
    "usage, limits, reason",
    [
        (RunUsage(0, 0, 0, 0.0), BudgetConfig(), ReasonCode.OK),
        (RunUsage(5, 0, 0, 0.0), BudgetConfig(), ReasonCode.MAX_ITERATIONS),
        (RunUsage(4, 0, 0, 0.0), BudgetConfig(), ReasonCode.OK),
        (RunUsage(99, 0, 0, 0.0), BudgetConfig(iterations_limit=None), ReasonCode.OK),
        (RunUsage(1, 48_000, 1_000, 0.0), BudgetConfig(), ReasonCode.TOKEN_LIMIT),
        (RunUsage(1, 0, 0, 0.9999), BudgetConfig(), ReasonCode.RUN_COST_LIMIT),
        (RunUsage(1, 0, 0, 0.99), BudgetConfig(run_cost_limit_usd=None), ReasonCode.OK),
    ],
    ids=["fresh", "at-iteration-limit", "below-iteration-limit", "iterations-off", "tokens-worst-case",
         "cost-worst-case", "cost-off"],
)
def test_budget_decision_table(usage, limits, reason) -> None:
    verdict = check_before_request(usage=usage, limits=limits, quote=MINI, prompt_tokens_estimate=1000)
    assert verdict.reason_code is reason
    assert verdict.allowed is (reason is ReasonCode.OK)


def test_budget_cost_check_uses_worst_case_of_next_call() -> None:
    limits = BudgetConfig(run_cost_limit_usd=0.01, iterations_limit=None)
    worst = cost_usd(quote=MINI, input_tokens=1000, output_tokens=limits.max_output_tokens)
    just_fits = RunUsage(1, 0, 0, 0.01 - worst)
    just_over = RunUsage(1, 0, 0, 0.01 - worst + 1e-6)
    assert check_before_request(usage=just_fits, limits=limits, quote=MINI, prompt_tokens_estimate=1000).allowed
    denied = check_before_request(usage=just_over, limits=limits, quote=MINI, prompt_tokens_estimate=1000)
    assert denied.reason_code is ReasonCode.RUN_COST_LIMIT and denied.data["remaining"] < worst


def test_budget_malformed_usage_fails_closed() -> None:
    verdict = check_before_request(usage=None, limits=BudgetConfig(), quote=MINI, prompt_tokens_estimate=1)  # type: ignore[arg-type]
    assert verdict.decision is Decision.DENY and verdict.reason_code is ReasonCode.POLICY_ERROR


def test_pricing_unknown_model_is_conservative_never_free() -> None:
    quote = price_for(model="mystery-model-9000", pricing=PRICING)
    assert not quote.known
    assert cost_usd(quote=quote, input_tokens=1000, output_tokens=1000) > cost_usd(
        quote=price_for(model="gpt-4o", pricing=PRICING), input_tokens=1000, output_tokens=1000) > 0


def test_pricing_known_model_exact_cost_with_cached_tokens() -> None:
    assert cost_usd(quote=MINI, input_tokens=1_000_000, output_tokens=1_000_000) == pytest.approx(0.75)
    assert cost_usd(quote=MINI, input_tokens=1_000_000, output_tokens=0, cached_input_tokens=500_000) == pytest.approx(
        0.5 * 0.15 + 0.5 * 0.075)


@pytest.mark.parametrize(
    "kind, status, transient",
    [("timeout", None, True), ("connection", None, True), ("http", 429, True), ("http", 500, True),
     ("http", 503, True), ("http", 400, False), ("http", 401, False), ("http", 404, False),
     ("bad_response", None, False), ("error", None, False)],
    ids=["timeout", "connection", "429", "500", "503", "400", "401", "404", "bad-body", "unknown"],
)
def test_retry_only_transient_errors(kind: str, status: int | None, transient: bool) -> None:
    assert is_transient(kind=kind, status_code=status) is transient


def test_retry_backoff_doubles_and_jitter_is_bounded() -> None:
    cfg = RetryConfig()
    assert [backoff_delay(attempt=a, config=cfg, jitter_fraction=0.0) for a in (1, 2, 3)] == [1.0, 2.0, 4.0]
    assert backoff_delay(attempt=1, config=cfg, jitter_fraction=7.0) == 1.5
