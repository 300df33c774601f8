"""Decision tables for budgets (run, nested, soft).

Also tool-call counts, loops, rate limits, pricing and retries.
"""

from __future__ import annotations

import pytest

from safe_agent.policies.budget import (
    Committed,
    RunUsage,
    check_before_request,
    check_before_tool_call,
    check_reservation,
    is_halt,
    limits_for_role,
    spend_windows,
)
from safe_agent.policies.config import (
    BudgetConfig,
    PricingConfig,
    RateLimitConfig,
    RetryConfig,
    SafetyConfig,
    ToolConfig,
)
from safe_agent.policies.loops import ToolStep, check_for_loops
from safe_agent.policies.pricing import cost_usd, failed_attempt_usd, price_for, tool_cost_usd
from safe_agent.policies.rate_limit import check_rate_limit, requests_limit_for
from safe_agent.policies.retry import backoff_delay, is_transient
from safe_agent.policies.verdict import Decision, ReasonCode

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
    ids=[
        "fresh",
        "at-iteration-limit",
        "below-iteration-limit",
        "iterations-off",
        "tokens-worst-case",
        "cost-worst-case",
        "cost-off",
    ],
)
def test_budget_decision_table(usage, limits, reason) -> None:
    verdict = check_before_request(
        usage=usage, limits=limits, quote=MINI, prompt_tokens_estimate=1000
    )
    assert verdict.reason_code is reason
    assert verdict.allowed is (reason is ReasonCode.OK)


def test_budget_cost_check_uses_worst_case_of_next_call() -> None:
    limits = BudgetConfig(run_cost_limit_usd=0.01, iterations_limit=None)
    worst = cost_usd(quote=MINI, input_tokens=1000, output_tokens=limits.max_output_tokens)
    just_fits = RunUsage(1, 0, 0, 0.01 - worst)
    just_over = RunUsage(1, 0, 0, 0.01 - worst + 1e-6)
    assert check_before_request(
        usage=just_fits, limits=limits, quote=MINI, prompt_tokens_estimate=1000
    ).allowed
    denied = check_before_request(
        usage=just_over, limits=limits, quote=MINI, prompt_tokens_estimate=1000
    )
    assert denied.reason_code is ReasonCode.RUN_COST_LIMIT and denied.data["remaining"] < worst


def test_budget_malformed_usage_fails_closed() -> None:
    verdict = check_before_request(
        usage=None, limits=BudgetConfig(), quote=MINI, prompt_tokens_estimate=1
    )  # type: ignore[arg-type]
    assert verdict.decision is Decision.DENY and verdict.reason_code is ReasonCode.POLICY_ERROR


def test_pricing_unknown_model_is_conservative_never_free() -> None:
    quote = price_for(model="mystery-model-9000", pricing=PRICING)
    assert not quote.known
    assert (
        cost_usd(quote=quote, input_tokens=1000, output_tokens=1000)
        > cost_usd(
            quote=price_for(model="gpt-4o", pricing=PRICING), input_tokens=1000, output_tokens=1000
        )
        > 0
    )


def test_pricing_known_model_exact_cost_with_cached_tokens() -> None:
    assert cost_usd(quote=MINI, input_tokens=1_000_000, output_tokens=1_000_000) == pytest.approx(
        0.75
    )
    assert cost_usd(
        quote=MINI, input_tokens=1_000_000, output_tokens=0, cached_input_tokens=500_000
    ) == pytest.approx(0.5 * 0.15 + 0.5 * 0.075)


@pytest.mark.parametrize(
    "kind, status, transient",
    [
        ("timeout", None, True),
        ("connection", None, True),
        ("http", 429, True),
        ("http", 500, True),
        ("http", 503, True),
        ("http", 400, False),
        ("http", 401, False),
        ("http", 404, False),
        ("bad_response", None, False),
        ("error", None, False),
    ],
    ids=["timeout", "connection", "429", "500", "503", "400", "401", "404", "bad-body", "unknown"],
)
def test_retry_only_transient_errors(kind: str, status: int | None, transient: bool) -> None:
    assert is_transient(kind=kind, status_code=status) is transient


def test_retry_backoff_doubles_and_jitter_is_bounded() -> None:
    cfg = RetryConfig()
    assert [backoff_delay(attempt=a, config=cfg, jitter_fraction=0.0) for a in (1, 2, 3)] == [
        1.0,
        2.0,
        4.0,
    ]
    assert backoff_delay(attempt=1, config=cfg, jitter_fraction=7.0) == 1.5


# ------------------------------------------------------------- nested budgets and soft limits

NESTED = BudgetConfig(
    run_cost_limit_usd=1.0,
    user_daily_limit_usd=5.0,
    tenant_daily_limit_usd=20.0,
    global_monthly_limit_usd=100.0,
)


@pytest.mark.parametrize(
    "committed, amount, reason, budget",
    [
        (Committed(0.0, 0.0, 0.0, 0.0), 0.10, ReasonCode.OK, None),
        (Committed(0.95, 0.95, 0.95, 0.95), 0.10, ReasonCode.RUN_COST_LIMIT, "run"),
        (Committed(0.0, 4.95, 4.95, 4.95), 0.10, ReasonCode.USER_DAILY_LIMIT, "user_daily"),
        (Committed(0.0, 0.0, 19.95, 19.95), 0.10, ReasonCode.TENANT_DAILY_LIMIT, "tenant_daily"),
        (Committed(0.0, 0.0, None, 99.95), 0.10, ReasonCode.GLOBAL_MONTHLY_LIMIT, "global_monthly"),
        (Committed(0.0, 0.0, None, 0.0), 0.10, ReasonCode.OK, None),
        (Committed(0.0, 4.90, 0.0, 0.0), 0.10, ReasonCode.SOFT_LIMIT, None),
        (Committed(0.5, 4.0, 0.0, 0.0), 0.10, ReasonCode.SOFT_LIMIT, None),
    ],
    ids=[
        "fits",
        "run-over",
        "user-day-over",
        "tenant-day-over",
        "global-month-over",
        "no-tenant",
        "user-exactly-full-is-soft",
        "user-80-percent-soft",
    ],
)
def test_reservation_decision_table(
    committed: Committed, amount: float, reason: ReasonCode, budget: str | None
) -> None:
    verdict = check_reservation(
        committed=committed, amount_usd=amount, limits=NESTED, user_id="u-1", tenant="acme"
    )
    assert verdict.reason_code is reason
    assert verdict.allowed is (budget is None) and is_halt(verdict) is (budget is not None)
    if budget:
        assert verdict.data["budget"] == budget and verdict.data["remaining"] < amount
        assert "left" in verdict.detail and verdict.policy_id == f"budget.{budget}"


def test_reservation_five_dimes_fit_fifty_cents() -> None:
    limits = BudgetConfig(user_daily_limit_usd=0.5, soft_limit_ratio=None)
    held = sum([0.1] * 4)
    assert check_reservation(
        committed=Committed(0, held, None, held), amount_usd=0.1, limits=limits
    ).allowed
    assert not check_reservation(
        committed=Committed(0, held + 0.1, None, held), amount_usd=0.1, limits=limits
    ).allowed


def test_reservation_soft_limit_names_every_budget_past_the_ratio() -> None:
    verdict = check_reservation(
        committed=Committed(0.85, 4.5, 0.0, 0.0), amount_usd=0.0, limits=NESTED, user_id="u-1"
    )
    assert [s["budget"] for s in verdict.data["soft"]] == ["run", "user_daily"]
    quiet = NESTED.model_copy(update={"soft_limit_ratio": None})
    assert (
        check_reservation(
            committed=Committed(0.85, 4.5, 0.0, 0.0), amount_usd=0.0, limits=quiet
        ).reason_code
        is ReasonCode.OK
    )


@pytest.mark.parametrize(
    "committed, amount",
    [
        (Committed(0, 0, 0, 0), -0.1),
        (Committed(0, 0, 0, 0), float("nan")),
        (None, 0.1),
        (Committed("x", 0, 0, 0), 0.1),
    ],  # type: ignore[arg-type]
    ids=["negative", "nan", "no-committed", "garbage"],
)
def test_reservation_malformed_input_fails_closed(committed: Committed, amount: float) -> None:
    verdict = check_reservation(committed=committed, amount_usd=amount, limits=NESTED)
    assert verdict.decision is Decision.DENY and verdict.reason_code is ReasonCode.POLICY_ERROR


@pytest.mark.parametrize(
    "calls, tool, limits, allowed",
    [
        ({}, "search_kb", BudgetConfig(), True),
        ({"search_kb": 19}, "search_kb", BudgetConfig(), True),
        ({"search_kb": 15, "get_order": 5}, "search_kb", BudgetConfig(), False),
        (
            {"send_email": 2},
            "send_email",
            BudgetConfig(per_tool_calls_limit={"send_email": 2}),
            False,
        ),
        (
            {"send_email": 2},
            "search_kb",
            BudgetConfig(per_tool_calls_limit={"send_email": 2}),
            True,
        ),
        ({"search_kb": 500}, "search_kb", BudgetConfig(tool_calls_limit=None), True),
    ],
    ids=["first", "twentieth", "twenty-first", "per-tool-spent", "other-tool-free", "limit-off"],
)
def test_tool_call_limit_decision_table(
    calls: dict, tool: str, limits: BudgetConfig, allowed: bool
) -> None:
    verdict = check_before_tool_call(tool_name=tool, calls_so_far=calls, limits=limits)
    assert verdict.allowed is allowed
    assert allowed or verdict.reason_code is ReasonCode.TOOL_CALL_LIMIT


def test_tool_call_limit_malformed_counts_fail_closed() -> None:
    verdict = check_before_tool_call(tool_name="x", calls_so_far=None, limits=BudgetConfig())  # type: ignore[arg-type]
    assert verdict.reason_code is ReasonCode.POLICY_ERROR


@pytest.mark.parametrize(
    "usage, elapsed, reason, finish",
    [
        (RunUsage(1, 0, 0, 0.0), 119.0, ReasonCode.OK, False),
        (RunUsage(1, 0, 0, 0.0), 121.0, ReasonCode.DEADLINE, False),
        (RunUsage(1, 0, 0, 0.0, {"search_kb": 20}), 0.0, ReasonCode.OK, True),
        (RunUsage(1, 0, 0, 0.0, {"search_kb": 21}), 0.0, ReasonCode.TOOL_CALL_LIMIT, False),
    ],
    ids=["in-time", "past-deadline", "last-tool-call-used-steers", "over-tool-calls"],
)
def test_request_deadline_and_tool_calls(
    usage: RunUsage, elapsed: float, reason: ReasonCode, finish: bool
) -> None:
    verdict = check_before_request(
        usage=usage, limits=BudgetConfig(), quote=MINI, prompt_tokens_estimate=10, elapsed_s=elapsed
    )
    assert verdict.reason_code is reason
    assert bool(verdict.data.get("finish")) is finish


def test_role_overrides_replace_only_what_they_set() -> None:
    config = SafetyConfig.model_validate(
        {
            "budget": {
                "user_daily_limit_usd": 5,
                "roles": {
                    "read": {"user_daily_limit_usd": 1},
                    "admin": {"user_daily_limit_usd": None, "tool_calls_limit": 50},
                },
            }
        }
    )
    read = limits_for_role(limits=config.budget, role="read")
    admin = limits_for_role(limits=config.budget, role="admin")
    write = limits_for_role(limits=config.budget, role="write")
    assert (read.user_daily_limit_usd, read.tool_calls_limit) == (1.0, 20)
    assert (admin.user_daily_limit_usd, admin.tool_calls_limit) == (None, 50)
    assert write == config.budget


def test_spend_windows_are_utc_days_and_months() -> None:
    assert spend_windows(1_798_761_599.0) == ("2026-12-31", "2026-12")  # 23:59:59 UTC
    assert spend_windows(1_798_761_600.0) == ("2027-01-01", "2027-01")


def test_pricing_failed_attempts_and_tools() -> None:
    def charge(kind: str) -> float:
        return failed_attempt_usd(
            quote=MINI, prompt_tokens=1_000_000, failure_kind=kind, max_output_tokens=1_000_000
        )

    # Unmeasured (the provider may have billed the whole call): the worst case, input and output.
    for kind in ("timeout", "bad_response", "error"):
        assert charge(kind) == pytest.approx(0.15 + 0.60), kind
    # An error response or a connection that never reached the provider: nothing billed.
    assert charge("http") == charge("connection") == 0.0
    tools = ToolConfig(cost_usd={"send_email": 0.001})
    assert tool_cost_usd(tool_name="send_email", tools=tools) == 0.001
    assert tool_cost_usd(tool_name="search_kb", tools=tools) == 0.0


# --------------------------------------------------------------------------- loops


def _steps(*calls: tuple[str, str, str | None]) -> list[ToolStep]:
    return [ToolStep(name, args, result) for name, args, result in calls]


A, B, C = (
    ("get_order", '{"order_id": "1"}', "order 1"),
    ("search_kb", '{"q": "x"}', "kb x"),
    ("get_order", '{"order_id": "2"}', "order 2"),
)


@pytest.mark.parametrize(
    "steps, reason",
    [
        (_steps(A, B, C), ReasonCode.OK),
        (_steps(A, A), ReasonCode.OK),
        (_steps(A, A, A), ReasonCode.REPEATED_TOOL_CALL),
        (_steps(A, B, A, C, A), ReasonCode.REPEATED_TOOL_CALL),
        (_steps(A, B, A), ReasonCode.OK),
        (_steps(C, A, B, A, B), ReasonCode.OSCILLATION),
        (_steps(A, B, B, A), ReasonCode.OK),
        (
            _steps(("s", "1", "none"), ("s", "2", "none"), ("s", "3", "none")),
            ReasonCode.NO_PROGRESS,
        ),
        (_steps(("s", "1", "none"), ("s", "2", "none"), ("s", "3", "one")), ReasonCode.OK),
        (_steps(("s", "1", "none"), ("s", "2", "none"), ("s", "3", None)), ReasonCode.OK),
    ],
    ids=[
        "varied",
        "twice-is-fine",
        "three-identical",
        "three-identical-apart",
        "a-b-a",
        "a-b-a-b",
        "a-b-b-a",
        "same-result-thrice",
        "new-result",
        "pending-result",
    ],
)
def test_loops_decision_table(steps: list[ToolStep], reason: ReasonCode) -> None:
    assert check_for_loops(steps=steps, limits=BudgetConfig()).reason_code is reason


def test_loops_malformed_steps_fail_closed() -> None:
    verdict = check_for_loops(steps=[None], limits=BudgetConfig())  # type: ignore[list-item]
    assert verdict.decision is Decision.DENY and verdict.reason_code is ReasonCode.POLICY_ERROR


# --------------------------------------------------------------------------- rate limits


@pytest.mark.parametrize(
    "used, oldest, limit, allowed, retry_after",
    [
        (0, None, 100, True, None),
        (99, 0.0, 100, True, None),
        (100, 1000.0, 100, False, 1600),
        (10_000, 0.0, None, True, None),
    ],
    ids=["first", "last-slot", "full", "unlimited"],
)
def test_rate_limit_decision_table(
    used: int, oldest: float | None, limit: int | None, allowed: bool, retry_after: int | None
) -> None:
    verdict = check_rate_limit(used=used, oldest_at=oldest, limit=limit, window_s=3600, now=3000.0)
    assert verdict.allowed is allowed
    assert verdict.data.get("retry_after_s") == retry_after


def test_rate_limit_malformed_count_fails_closed() -> None:
    verdict = check_rate_limit(used=-1, oldest_at=None, limit=5, window_s=3600, now=0.0)
    assert verdict.reason_code is ReasonCode.POLICY_ERROR


def test_rate_limit_defaults_by_role_and_partial_override() -> None:
    default = RateLimitConfig()
    assert [
        requests_limit_for(config=default, role=r) for r in ("read", "write", "admin", "root")
    ] == [100, 300, None, 100]
    tuned = SafetyConfig.model_validate({"rate_limit": {"requests_limit": {"read": 10}}}).rate_limit
    assert (tuned.requests_limit.read, tuned.requests_limit.write) == (10, 300)
