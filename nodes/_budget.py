"""Spend and runaway helpers the nodes share: who pays, what the run has done, what a step costs.

budget_check and reason use all of them. Two are for the tool nodes: `check_tool_call_budget`
(authorize: per-run and per-tool call counts) and `charge_tool_call` (execute_tool: a tool's
configured price, charged once per attempt against every budget before it goes out).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage

from safe_agent.graph.services import ModelSlot, Services
from safe_agent.graph.state import PendingCall, RunClock, State
from safe_agent.nodes._calls import Failure
from safe_agent.nodes._common import model_messages
from safe_agent.policies.budget import check_before_tool_call, limits_for_role
from safe_agent.policies.config import BudgetConfig
from safe_agent.policies.loops import ToolStep
from safe_agent.policies.pricing import (
    PriceQuote,
    estimate_tokens,
    failed_attempt_usd,
    price_for,
    tool_cost_usd,
    worst_case_usd,
)
from safe_agent.policies.rate_limit import requests_limit_for
from safe_agent.policies.routing import route_turn
from safe_agent.policies.verdict import Verdict, allow
from safe_agent.stores.spend import SpendScope

FINISH_NOTE = (
    "Budget note: this run is close to its spending or tool-call limit. Do not call any tools. "
    "Answer the user now with what you already know, and say plainly if anything is left undone."
)
"""The system note `reason` adds when the run is steered to finish."""

TOKENS_PER_TOOL_SCHEMA = 500
"""Prompt tokens assumed for each bound tool's schema in the worst-case estimate."""


def spend_scope(state: State) -> SpendScope:
    """Return who pays for this run's charges: the run, its requester and their tenant."""
    principal = state.get("principal") or {}
    return SpendScope(
        state.get("run_id", ""), principal.get("user_id", ""), principal.get("tenant")
    )


def role_limits(state: State, services: Services) -> BudgetConfig:
    """Return the budget for the requester's role (the role captured when the run started)."""
    return limits_for_role(
        limits=services.config.budget, role=(state.get("principal") or {}).get("role", "read")
    )


def prompt_tokens_estimate(state: State, services: Services) -> int:
    """Estimate the next call's prompt: the conversation plus every tool schema, generously."""
    text = json.dumps([m.content for m in model_messages(state)], default=str)
    return estimate_tokens(text) + TOKENS_PER_TOOL_SCHEMA * len(services.tools)


def _run_messages(messages: list[AnyMessage]) -> list[AnyMessage]:
    start = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1)
    return messages[start + 1 :]


def _calls(messages: list[AnyMessage]) -> list[dict[str, Any]]:
    return [
        c
        for m in messages
        if isinstance(m, AIMessage)
        for c in [*m.tool_calls, *m.invalid_tool_calls]
    ]


def run_steps(messages: list[AnyMessage]) -> list[ToolStep]:
    """Return the tool calls made since the run's human message, in order, each with its result."""
    run = _run_messages(messages)
    results = {m.tool_call_id: str(m.content) for m in run if isinstance(m, ToolMessage)}
    return [
        ToolStep(
            str(c.get("name") or ""),
            json.dumps(c.get("args"), sort_keys=True, default=str),
            results.get(c.get("id") or ""),
        )
        for c in _calls(run)
    ]


def tool_call_counts(messages: list[AnyMessage]) -> dict[str, int]:
    """Count the run's settled tool calls (answered by a tool message, refusals too) by tool."""
    run = _run_messages(messages)
    names = {c.get("id"): str(c.get("name") or "") for c in _calls(run)}
    counts: dict[str, int] = {}
    for m in run:
        if isinstance(m, ToolMessage):
            name = names.get(m.tool_call_id) or m.name or ""
            counts[name] = counts.get(name, 0) + 1
    return counts


def check_tool_call_budget(state: State, services: Services, tool_name: str) -> Verdict:
    """Ask whether one more call of `tool_name` fits the run's per-run and per-tool call limits.

    Used by authorize.
    """
    return check_before_tool_call(
        tool_name=tool_name,
        calls_so_far=tool_call_counts(state.get("messages", [])),
        limits=role_limits(state, services),
    )


def charge_tool_call(
    state: State, services: Services, call: PendingCall, attempt: int = 1
) -> tuple[Verdict, float]:
    """Charge a tool's price against every budget before each attempt goes out (execute_tool).

    Every attempt is charged, retries included: each one reached the tool. Idempotent per
    (run, tool_call_id, attempt): a replayed execution is not charged twice (the first attempt
    keeps the key it always had). Returns the verdict (a deny names the budget that cannot pay;
    do not run the attempt) and the USD charged.
    """
    amount = tool_cost_usd(tool_name=str(call["name"]), tools=services.config.tools)
    if amount <= 0:
        return allow("budget.tool_cost", amount_usd=0.0), 0.0
    key = f"{state.get('run_id', '')}:tool:{call['id']}" + (f":{attempt}" if attempt > 1 else "")
    verdict = services.spend.reserve(
        key,
        scope=spend_scope(state),
        amount_usd=amount,
        now=services.clock(),
        limits=role_limits(state, services),
        kind="tool",
        settle=True,
    )
    return verdict, amount if verdict.allowed else 0.0


def routed_slot(state: State, services: Services, clock: RunClock) -> tuple[ModelSlot, Verdict]:
    """Pick the model this turn is routed to first (`policies.routing.route_turn`) and say why.

    A soft limit counts once this run has been warned about one (from the next turn on), so the
    hold is always priced for the model that will be called first.
    """
    messages = state.get("messages", [])
    request = next((str(m.content) for m in reversed(messages) if isinstance(m, HumanMessage)), "")
    verdict = route_turn(
        config=services.config.routing,
        has_cheap=services.cheap is not None,
        soft_limit_passed=bool(clock["soft_warned"]),
        request_text=request,
    )
    cheap = verdict.data.get("route") == "cheap" and services.cheap is not None
    return (services.cheap if cheap else services.primary), verdict  # type: ignore[return-value]


def release_reservation(state: State, services: Services) -> None:
    """Give back the whole hold of a model call that will not be made (e.g. the breaker is open)."""
    held = state.get("reservation")
    if held:
        services.spend.settle(
            held["id"], actual_usd=0.0, now=services.clock(), scope=spend_scope(state)
        )


def rate_limit_hit(state: State, services: Services, now: float) -> Verdict:
    """Count this run against its requester's request rate (once, idempotent on the run id)."""
    principal, cfg = state.get("principal") or {}, services.config.rate_limit
    return services.rate_limits.hit(
        f"user:{principal.get('user_id', '')}",
        hit_id=state.get("run_id", ""),
        limit=requests_limit_for(config=cfg, role=principal.get("role", "read")),
        window_s=cfg.window_s,
        now=now,
    )


def advance_clock(state: State, now: float) -> tuple[RunClock, bool]:
    """Start the run's clock on its first turn, or add the time since the last check.

    Time spent waiting for a person does not count: the approval node moves `last_at` to the
    moment the decision arrived.
    """
    clock = state.get("run_clock")
    if clock is None or clock["run_id"] != state.get("run_id"):
        return RunClock(
            run_id=state.get("run_id", ""),
            started_at=now,
            active_s=0.0,
            last_at=now,
            soft_warned=[],
        ), True
    active = clock["active_s"] + max(0.0, now - clock["last_at"])
    return RunClock(**{**clock, "active_s": active, "last_at": now}), False


@dataclass
class Settlement:
    """What one model step costs: its failed attempts that reached the provider, then the reply.

    The hold `budget_check` placed was the worst case of the model it routed to; when the ladder
    moves to a dearer model the hold is raised first (`switch_to`), so the budget always covers
    the model that is actually called.
    """

    state: State
    services: Services
    failed_usd: float = 0.0
    stop: Verdict | None = None
    """The budget verdict that refused a retry or a dearer model, if one did."""
    last_charge: float = 0.0
    """What the latest failed attempt was charged."""
    model: str = ""
    held_usd: float | None = None

    def _quote(self) -> PriceQuote:
        return price_for(
            model=self.model or self.services.model_name, pricing=self.services.config.pricing
        )

    def _prompt_tokens(self) -> int:
        held = self.state.get("reservation") or {}
        return held.get("prompt_tokens") or prompt_tokens_estimate(self.state, self.services)

    def worst_case(self) -> float:
        """The most one call of the current model can cost: what an unmeasured call is charged."""
        return worst_case_usd(
            quote=self._quote(),
            prompt_tokens=self._prompt_tokens(),
            max_output_tokens=self.services.config.budget.max_output_tokens,
        )

    def switch_to(self, model: str) -> bool:
        """Make `model` the one called; raise the hold if its worst case is higher, or refuse."""
        self.model = model
        held = self.state.get("reservation") or {}
        if self.held_usd is None:
            self.held_usd = float(held.get("amount_usd") or 0.0)
        missing = round(self.worst_case() - self.held_usd, 8)
        if missing <= 0 or not held.get("id"):
            return True
        verdict = self.services.spend.extend(
            held["id"],
            amount_usd=missing,
            now=self.services.clock(),
            limits=role_limits(self.state, self.services),
        )
        if not verdict.allowed:
            self.stop = verdict
            return False
        self.held_usd += missing
        return True

    def on_failure(self, failure: Failure, will_retry: bool) -> bool:
        """Charge a failed attempt; before a retry, hold that charge too, or refuse the retry."""
        charge = failed_attempt_usd(
            quote=self._quote(),
            prompt_tokens=self._prompt_tokens(),
            failure_kind=failure.kind,
            max_output_tokens=self.services.config.budget.max_output_tokens,
        )
        self.failed_usd += charge
        self.last_charge = charge
        if not will_retry or charge == 0:
            return True
        held = self.state.get("reservation") or {}
        verdict = self.services.spend.extend(
            held.get("id", ""),
            amount_usd=charge,
            now=self.services.clock(),
            limits=role_limits(self.state, self.services),
        )
        self.stop = None if verdict.allowed else verdict
        return verdict.allowed

    def settle(self, reply_usd: float = 0.0) -> float:
        """Record the step's actual cost in the ledger and return it.

        The rest of the hold is released.
        """
        total = round(self.failed_usd + reply_usd, 8)
        held = self.state.get("reservation") or {}
        key = held.get("id") or f"{self.state.get('run_id', '')}:{self.state.get('iterations', 0)}"
        self.services.spend.settle(
            key, actual_usd=total, now=self.services.clock(), scope=spend_scope(self.state)
        )
        return total
