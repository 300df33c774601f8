"""Run one tool call behind its breaker and timeout, retrying transient failures when that is safe.

A failed attempt is retried only if it may pass next time (a timeout, a lost connection, HTTP
429/5xx, a `ToolFailure(transient=True)`) and only if repeating it cannot repeat its effect: the
tool is idempotent, or it deduplicates on `ctx.idempotency_key`, which is the same on every
attempt. Any other tool gets one attempt: a write that timed out may have happened, and sending
it again is exactly the double refund the execution ledger exists to prevent.

Every attempt goes through the breaker on its own (re-checked before it goes out, its outcome
recorded), so the breaker counts attempts, not calls, and an open breaker stops a retry. Every
attempt is charged the tool's price through `charge`, so a retry is never free. What happened is
returned as a `ToolRun` for execute_tool to audit; nothing here writes the audit log.
"""

from __future__ import annotations

import random
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from safe_agent.graph.services import Services
from safe_agent.nodes._calls import Failure, call_with_timeout, describe_failure
from safe_agent.policies.breaker import BreakerTransition
from safe_agent.policies.retry import is_transient, parse_retry_after, retry_wait
from safe_agent.policies.verdict import ReasonCode, Verdict, allow, deny
from safe_agent.tools.spec import ToolCallContext, ToolFailure, ToolSpec

Charge = Callable[[int], tuple[Verdict, float]]
"""Charge attempt number n (1-based) of this call; a deny means the attempt must not go out."""


@dataclass
class ToolRun:
    """What running one call took: the attempts that reached the tool, their cost, the breaker."""

    attempts: list[dict[str, Any]] = field(default_factory=list)
    """One entry per attempt that went out: attempt, kind ("ok" or the failure's kind), status
    (HTTP status or None), waited_s (the wait before it) and, if sent, the tool's retry_after_s."""
    transitions: list[BreakerTransition] = field(default_factory=list)
    """Every phase change of the tool's breaker during the call, in order."""
    cost_usd: float = 0.0
    """The tool's price times the attempts charged."""
    stopped: str | None = None
    """Why a transient failure was not retried (further): not_retry_safe, max_retries,
    retry_after_over_cap, breaker_open or budget. None when the last attempt settled the call."""
    breaker_state: str | None = None
    """The tool breaker's phase after the last check or outcome."""

    @property
    def retry_count(self) -> int:
        """Attempts after the first one."""
        return max(0, len(self.attempts) - 1)

    def audit_input(self) -> dict[str, Any]:
        """The fields the tool_execution audit row adds to its input (nothing if nothing ran)."""
        if not self.attempts:
            return {}
        stopped = {"retry_stopped": self.stopped} if self.stopped else {}
        return {"attempts": self.attempts, **stopped}


@dataclass(frozen=True, slots=True)
class _Outcome:
    """One attempt's verdict and result, and what the retry policy and the breaker make of it."""

    verdict: Verdict
    result: dict[str, Any]
    failure: Failure | None = None
    healthy: bool = True
    transient: bool = False


def classify(exc: Exception) -> Failure:
    """`describe_failure`, plus the two shapes urllib gives a plain-function tool.

    urllib's `HTTPError` keeps its status in `code` and its headers on itself, and `URLError`
    hides a refused connection or a connect timeout in `reason`: without this, a 503 with
    `Retry-After` from a stdlib client would read as a final error and never be retried.
    """
    if isinstance(exc, urllib.error.HTTPError):
        headers = exc.headers
        after = parse_retry_after(headers.get("Retry-After") if headers is not None else None)
        return Failure("http", exc.code, f"HTTPError: {str(exc)[:300]}", after)
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, Exception):
        inner = describe_failure(exc.reason)
        message = f"URLError: {inner.message}"
        return Failure(inner.kind, inner.status_code, message, inner.retry_after_s)
    return describe_failure(exc)


def _attempt(spec: ToolSpec, args: dict[str, Any], ctx: ToolCallContext) -> _Outcome:
    """Run the tool once; every failure becomes data, not an exception (GraphBubbleUp excepted)."""
    try:
        result = call_with_timeout(
            lambda: spec.run(spec.args_schema.model_validate(args), ctx), spec.timeout_s
        )
        return _Outcome(allow("execute_tool"), result)
    except ToolFailure as exc:  # the tool's own answer: "no" is final and healthy; "busy" is not
        kind = "transient" if exc.transient else "refused"
        failure = Failure(kind, None, exc.message, parse_retry_after(exc.retry_after_s))
        verdict = deny(ReasonCode.TOOL_ERROR, exc.message, f"tool.{spec.name}")
        return _Outcome(
            verdict, exc.to_dict(), failure, healthy=not exc.transient, transient=exc.transient
        )
    except Exception as exc:  # noqa: BLE001 - any tool crash is a structured result
        failure = classify(exc)
        code = ReasonCode.TOOL_TIMEOUT if failure.kind == "timeout" else ReasonCode.TOOL_ERROR
        return _Outcome(
            deny(code, failure.message, f"tool.{spec.name}"),
            {"error": code.value, "message": f"{spec.name} failed: {failure.message}"},
            failure,
            healthy=False,
            transient=is_transient(kind=failure.kind, status_code=failure.status_code),
        )


def _phase(state: Any) -> str:
    phase = getattr(state, "phase", None)
    return str(getattr(phase, "value", phase))


def _entry(attempt: int, outcome: _Outcome, waited_s: float) -> dict[str, Any]:
    """The audit's line for one attempt."""
    failure = outcome.failure
    entry: dict[str, Any] = {
        "attempt": attempt,
        "kind": failure.kind if failure else "ok",
        "status": failure.status_code if failure else None,
        "waited_s": round(waited_s, 3),
    }
    if failure is not None and failure.retry_after_s is not None:
        entry["retry_after_s"] = failure.retry_after_s
    return entry


def _no_charge(attempt: int) -> tuple[Verdict, float]:
    return allow("budget.tool_cost", amount_usd=0.0), 0.0


def run_tool(
    services: Services,
    name: str,
    args: dict[str, Any],
    ctx: ToolCallContext,
    charge: Charge = _no_charge,
) -> tuple[Verdict, dict[str, Any], ToolRun]:
    """Run `name` with validated `args`, retrying transient failures if the tool is safe to repeat.

    Each attempt: re-check the breaker (open: stop), charge the attempt (refused: stop), run it
    with the tool's timeout, record its outcome with the breaker. Returns the last attempt's
    verdict and result (or the breaker's or the budget's refusal if no attempt went out) and the
    `ToolRun` record for the audit.
    """
    spec, retry, run = services.tools[name], services.config.tools.retry, ToolRun()
    breaker = f"tool:{name}"
    cfg, outcome, waited = services.config.breaker, None, 0.0
    for attempt in range(1, retry.max_retries + 2):
        gate, state = services.breakers.acquire(
            breaker, now=services.clock(), config=cfg, transitions=run.transitions
        )
        run.breaker_state = _phase(state)
        if not gate.allowed:
            if outcome is None:
                refused = deny(
                    ReasonCode.TOOL_UNAVAILABLE,
                    f"{name} is temporarily unavailable",
                    gate.policy_id,
                )
                return refused, {"error": "tool_unavailable", "message": gate.detail}, run
            run.stopped = "breaker_open"
            break
        paid, cost = charge(attempt)
        if not paid.allowed:  # the tool's price does not fit a budget: this attempt does not go out
            if outcome is None:
                return paid, {"error": paid.reason_code.value, "message": paid.detail}, run
            run.stopped = "budget"
            break
        run.cost_usd = round(run.cost_usd + cost, 8)
        outcome = _attempt(spec, args, ctx)
        after = services.breakers.record(
            breaker,
            success=outcome.healthy,
            now=services.clock(),
            config=cfg,
            transitions=run.transitions,
        )
        run.breaker_state = _phase(after)
        run.attempts.append(_entry(attempt, outcome, waited))
        run.stopped = _why_not_again(spec, outcome, attempt, retry.max_retries, run.breaker_state)
        if outcome.failure is None or not outcome.transient or run.stopped:
            break
        wait = retry_wait(
            attempt=attempt,
            config=retry,
            jitter_fraction=random.random(),
            retry_after_s=outcome.failure.retry_after_s,
        )
        if wait is None:  # asked to wait past the cap: the tool is out for longer than we wait
            run.stopped = "retry_after_over_cap"
            break
        services.sleep(wait)
        waited = wait
    assert outcome is not None  # the loop runs at least once and returns if nothing went out
    result = (
        outcome.result
        if outcome.verdict.allowed or len(run.attempts) < 2
        else {**outcome.result, "attempts": len(run.attempts)}
    )
    return outcome.verdict, result, run


def _why_not_again(
    spec: ToolSpec, outcome: _Outcome, attempt: int, max_retries: int, breaker_state: str
) -> str | None:
    """Why a transient failure gets no further attempt, or None (a retry may go, or none is due)."""
    if outcome.failure is None or not outcome.transient:
        return None
    if not spec.retry_safe:
        return "not_retry_safe"
    if attempt > max_retries:
        return "max_retries"
    if breaker_state == "open":  # this attempt opened it: do not even wait
        return "breaker_open"
    return None
