"""The degradation ladder of one model turn: each slot in order, each attempt behind its breaker.

`reason` calls `climb`. For every slot (the routed first model, the primary, then each fallback),
every attempt, the first and each retry, asks the slot's breaker first and reports its outcome
after, so the breaker counts attempts, and a retry never goes out once another process has
opened it. A half-open breaker admits one attempt across all processes. A slot that cannot serve
(switched off, breaker open, failed after its retries) hands the turn to the next one; when none
is left the turn fails honestly. The policies are `policies.routing`, `policies.retry` and
`policies.breaker`; this module only runs them.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.constants import TAG_HIDDEN, TAG_NOSTREAM

from safe_agent.graph.services import ModelSlot, Services
from safe_agent.graph.state import PendingCall, State
from safe_agent.nodes._budget import Settlement
from safe_agent.nodes._calls import Failure, call_with_timeout, describe_failure
from safe_agent.policies.breaker import BreakerTransition, check_before_call
from safe_agent.policies.model_config import ONE_SYSTEM_PROMPT_PROVIDERS
from safe_agent.policies.retry import is_transient, retry_wait
from safe_agent.policies.routing import READ_ONLY_NOTE, SlotFacts, ladder_order, serve_read_only
from safe_agent.policies.verdict import ReasonCode, Tier, Verdict, deny
from safe_agent.tools.spec import ToolSpec


@dataclass
class LadderOutcome:
    """What the turn got: the reply and who served it, or the failures of every slot tried."""

    reply: AIMessage | None = None
    slot: ModelSlot | None = None
    level: str = "unavailable"
    read_only_why: str | None = None
    withdrawn: tuple[str, ...] = ()
    attempts: list[dict[str, Any]] = field(default_factory=list)
    transitions: list[BreakerTransition] = field(default_factory=list)
    failure: Failure | None = None
    skipped: list[str] = field(default_factory=list)
    """Why each slot that was not tried could not serve ("model:…: breaker open")."""


def slot_switch(slot: ModelSlot, active: Mapping[str, object]) -> str | None:
    """Return the switch that stops this one model ("model:<name>" or "model:<provider>:<name>")."""
    for target in (f"model:{slot.name}", f"model:{slot.provider}:{slot.name}"):
        if target in active:
            return target
    return None


def facts(services: Services, slot: ModelSlot, active: Mapping[str, object]) -> SlotFacts:
    """Describe a slot for the ladder policy: its switch, and whether its breaker refuses now.

    The breaker is only read here (the pure check on the stored state, nothing written): the
    half-open probe is taken by the attempt itself, in `climb`.
    """
    stored = services.breakers.get(slot.breaker)
    verdict, _ = check_before_call(
        state=stored, now=services.clock(), config=services.config.breaker
    )
    return SlotFacts(
        slot.breaker, slot.level, slot.read_only, slot_switch(slot, active), not verdict.allowed
    )


def ladder(services: Services, state: State) -> list[ModelSlot]:
    """The slots of this turn in order: the model budget_check reserved for first, then the rest."""
    slots = [services.primary, *services.fallbacks, *([services.cheap] if services.cheap else [])]
    first = (state.get("reservation") or {}).get("model") or services.primary.breaker
    order = ladder_order([SlotFacts(s.breaker, s.level, s.read_only) for s in slots], first=first)
    by_breaker = {s.breaker: s for s in slots}
    return [by_breaker[f.breaker] for f in order]


def turn_tools(services: Services, read_only: bool) -> tuple[tuple[ToolSpec, ...], tuple[str, ...]]:
    """Return the tools bound for a turn and the names withdrawn (all write tools if read-only)."""
    tools = tuple(services.tools.values())
    if not read_only:
        return tools, ()
    kept = tuple(t for t in tools if t.policy.tier is Tier.READ_ONLY)
    return kept, tuple(t.name for t in tools if t not in kept)


def done_so_far(messages: list[AnyMessage]) -> str:
    """Say what this request has done already, for the honest "cannot do this right now"."""
    start = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1)
    results = [m for m in messages[start + 1 :] if isinstance(m, ToolMessage)]
    if not results:
        return "Nothing was done."
    done = [
        f"{m.name or 'a tool'} {'ran' if m.status != 'error' else 'was refused or failed'}"
        for m in results
    ]
    return "So far: " + "; ".join(done) + ". Nothing else was done."


def climb(
    services: Services,
    state: State,
    config: RunnableConfig,
    messages: list[AnyMessage],
    finish: bool,
    settlement: Settlement,
) -> LadderOutcome:
    """Serve the turn from the first slot that answers; record every attempt on the way."""
    out, active = LadderOutcome(), services.switches.active()
    for n, slot in enumerate(ladder(services, state)):
        # The first slot is the one the hold was priced for: its breaker is asked by the attempt
        # itself (acquire), so reading it here too would only cost a query. A later slot is read
        # first, so the hold is never raised for a model whose breaker would refuse it anyway.
        slot_facts = (
            SlotFacts(slot.breaker, slot.level, slot.read_only, slot_switch(slot, active))
            if n == 0
            else facts(services, slot, active)
        )
        if slot_facts.switched_off_by or slot_facts.breaker_open:
            why = "switched off" if slot_facts.switched_off_by else "breaker open"
            out.skipped.append(f"{slot.breaker}: {why}")
            continue
        why_read_only = serve_read_only(slot_facts, active_switches=active)
        tools, withdrawn = turn_tools(services, why_read_only is not None)
        prompt = [*messages]
        if why_read_only:
            prompt.append(SystemMessage(READ_ONLY_NOTE.format(why=why_read_only)))
        if slot.provider in ONE_SYSTEM_PROMPT_PROVIDERS:
            prompt = one_system_prompt(prompt)
        if not settlement.switch_to(slot.name):
            return (
                out  # the budget cannot hold this model's worst case: stop, do not try cheaper ones
            )
        level = "read_only" if why_read_only else slot.level
        model = slot.model if finish else slot.bound(tools)
        reply = _attempts(services, slot, model, prompt, config, level, settlement, out)
        if reply is not None:
            out.reply, out.slot, out.level = reply, slot, level
            out.read_only_why, out.withdrawn = why_read_only, withdrawn
            return out
        if settlement.stop is not None:
            return out
    return out


def one_system_prompt(messages: list[AnyMessage]) -> list[AnyMessage]:
    """Fold every system message into one, first: the only shape a single-system API accepts.

    The read-only and finish notes follow the conversation; ChatAnthropic refuses a second,
    non-leading system message (it has one top-level `system`), so without this the turn
    would fail before reaching the provider.
    """
    notes = [m for m in messages if isinstance(m, SystemMessage)]
    if len(notes) < 2:
        return messages
    folded = SystemMessage("\n\n".join(m.text for m in notes))
    return [folded, *(m for m in messages if not isinstance(m, SystemMessage))]


def _attempts(
    services: Services,
    slot: ModelSlot,
    model: Any,
    prompt: list[AnyMessage],
    config: RunnableConfig,
    level: str,
    settlement: Settlement,
    out: LadderOutcome,
) -> AIMessage | None:
    """Try one slot: the first attempt and its retries, each one through the breaker."""
    retry, breaker_cfg = services.config.retry, services.config.breaker
    timeout = services.config.model.timeout_s + services.config.model.connect_timeout_s
    call_config = _traced(config, slot, level)
    for attempt in range(retry.max_retries + 1):
        gate, _ = services.breakers.acquire(
            slot.breaker, now=services.clock(), config=breaker_cfg, transitions=out.transitions
        )
        if not gate.allowed:
            out.attempts.append(_attempt(slot, attempt, "refused", gate.reason_code.value))
            out.skipped.append(f"{slot.breaker}: breaker open")
            return None
        try:
            reply = call_with_timeout(lambda: model.invoke(prompt, call_config), timeout)
            if not isinstance(reply, AIMessage):
                raise TypeError(f"model returned {type(reply).__name__}, not an AIMessage")
        except Exception as exc:  # noqa: BLE001 - every model failure is data (GraphBubbleUp re-raised)
            failure = describe_failure(exc)
        else:
            services.breakers.record(
                slot.breaker,
                success=True,
                now=services.clock(),
                config=breaker_cfg,
                transitions=out.transitions,
            )
            out.attempts.append(_attempt(slot, attempt, "ok"))
            return reply
        services.breakers.record(
            slot.breaker,
            success=False,
            now=services.clock(),
            config=breaker_cfg,
            transitions=out.transitions,
        )
        out.failure = failure
        transient = is_transient(kind=failure.kind, status_code=failure.status_code)
        wait = retry_wait(
            attempt=attempt + 1,
            config=retry,
            jitter_fraction=random.random(),
            retry_after_s=failure.retry_after_s,
        )
        will_retry = attempt < retry.max_retries and transient and wait is not None
        charged = settlement.on_failure(failure, will_retry)
        out.attempts.append(
            _attempt(
                slot,
                attempt,
                "failed",
                failure.kind,
                failure.status_code,
                charged_usd=settlement.last_charge,
                waited_s=wait if will_retry and charged else 0.0,
            )
        )
        if not will_retry or not charged:
            return None
        services.sleep(wait)  # type: ignore[arg-type]
    return None


def _attempt(
    slot: ModelSlot,
    n: int,
    outcome: str,
    kind: str | None = None,
    status: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One attempt as the audit row lists it."""
    return {
        "model": slot.name,
        "breaker": slot.breaker,
        "attempt": n + 1,
        "outcome": outcome,
        "kind": kind,
        "status": status,
        **extra,
    }


def _traced(config: RunnableConfig, slot: ModelSlot, level: str) -> RunnableConfig:
    """The call's config with the serving model and level as trace metadata, kept off streams.

    The raw reply is not the answer yet (`reason` judges it before it enters state), so no
    client may see it: `nostream` stops LangGraph's `messages` stream from sending its tokens
    (and the whole reply at its end), and `langsmith:hidden` stops the server's `events` stream
    from forwarding the call's events. The call is still traced, and still streamed from the
    provider when a streaming handler is attached, so streamed usage is still measured.
    """
    metadata = {
        **(config.get("metadata") or {}),
        "safe_agent_model": slot.name,
        "safe_agent_service_level": level,
    }
    tags = [*(config.get("tags") or [])]
    tags += [t for t in (TAG_NOSTREAM, TAG_HIDDEN) if t not in tags]
    return {**config, "metadata": metadata, "tags": tags}  # type: ignore[return-value]


WITHDRAWN = "withdrawn: actions that change anything are unavailable right now (read-only mode)"


def pending_calls(message: AIMessage) -> list[PendingCall]:
    calls: list[PendingCall] = [
        {"id": c["id"] or f"call_{i}", "name": c["name"], "args": c["args"]}
        for i, c in enumerate(message.tool_calls)
    ]
    calls += [
        {"id": c.get("id") or f"invalid_{i}", "name": c.get("name") or "", "args": c.get("args")}
        for i, c in enumerate(message.invalid_tool_calls)
    ]
    return calls


def failure_verdict(
    out: LadderOutcome, budget_stop: Verdict | None, done: str
) -> tuple[Verdict, str]:
    """Say honestly why the turn failed: a budget that refused, or no model that could serve."""
    if budget_stop is not None:
        return (
            budget_stop,
            f"I stopped before finishing: a retry was refused because {budget_stop.detail}.",
        )
    failure: Failure | None = out.failure
    why = "; ".join(out.skipped)
    if failure is None:
        code = ReasonCode.BREAKER_OPEN
        detail = f"no model can serve right now ({why})"
    else:
        transient = is_transient(kind=failure.kind, status_code=failure.status_code)
        code = (
            ReasonCode.MODEL_UNAVAILABLE
            if transient or failure.status_code is None
            else ReasonCode.MODEL_REJECTED_REQUEST
        )
        status = f", HTTP {failure.status_code}" if failure.status_code else ""
        detail = f"the model call failed ({failure.kind}{status})" + (f"; {why}" if why else "")
    verdict = deny(
        code,
        detail,
        "reason.model_call",
        kind=failure.kind if failure else None,
        status_code=failure.status_code if failure else None,
    )
    return verdict, f"I cannot do this right now: {detail}. {done}"


def refuse_withdrawn(
    reply: AIMessage, out: LadderOutcome
) -> tuple[list[PendingCall], list[ToolMessage]]:
    """Keep the calls a read-only turn may make; answer each withdrawn one with a refusal."""
    calls = pending_calls(reply)
    refused = [c for c in calls if c["name"] in out.withdrawn]
    notes = [
        ToolMessage(content=WITHDRAWN, tool_call_id=c["id"], name=c["name"], status="error")
        for c in refused
    ]
    return [c for c in calls if c not in refused], notes
