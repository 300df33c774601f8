"""How execute_tool settles one call: the ledger check, then run, replay or reconcile.

`on_record` is the construction behind invariant 2: a call runs only if the decision ledger has an
`allowed` or `approved` row for the digest of exactly the tool and arguments about to run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from safe_agent.graph.context import Context
from safe_agent.graph.services import Services
from safe_agent.graph.state import State
from safe_agent.nodes._budget import charge_tool_call
from safe_agent.nodes._common import make_event
from safe_agent.nodes._identity import caller_of, recorded_decision, requester_of
from safe_agent.nodes._pii import reveal_args
from safe_agent.nodes._tool_run import ToolRun, run_tool
from safe_agent.policies.reconcile import RECONCILE_SCHEMA, check_reconciler, read_reconcile
from safe_agent.policies.verdict import Decision, ReasonCode, Role, Verdict
from safe_agent.stores.audit import AuditEvent
from safe_agent.tools.spec import ToolCallContext


def settle(
    state: State,
    runtime: Runtime[Context],
    config: RunnableConfig,
    services: Services,
    key: str,
    thread: str,
) -> tuple[str, Verdict, dict[str, Any], float, ToolRun]:
    """Decide from the ledger whether to run, replay or reconcile.

    Returns (event kind, verdict, result, cost, run): `run` lists the attempts that reached the
    tool and the breaker's transitions (empty for a replay or a reconcile), for the audit.
    """
    call, data = state["pending_calls"][0], state["authorization"]["data"]  # type: ignore[index]
    spec, now, ledger = services.tools[call["name"]], services.clock(), services.executions
    row = ledger.begin(
        key,
        thread_id=thread,
        tool_call_id=call["id"],
        digest=data["digest"],
        tool_name=call["name"],
        now=now,
    )
    if row is not None and row.finished:
        return (
            "tool_replayed",
            Verdict(
                Decision.ALLOW,
                ReasonCode.REPLAYED,
                "recorded result returned",
                "execute_tool.ledger",
            ),
            row.result or {},
            0.0,
            ToolRun(),
        )
    if row is not None and not spec.idempotent and row.status == "started":
        raw = interrupt(
            {
                "kind": "reconcile",
                "tool_name": row.tool_name,
                "tool_call_id": row.tool_call_id,
                "args": data["args"],
                "action_digest": row.action_digest,
                "started_at": row.started_at,
                "attempts": row.attempts,
                "question": (
                    f"{row.tool_name} started but never reported back. Did its side effect happen?"
                ),
            },
            response_schema=RECONCILE_SCHEMA,  # shown to clients; read below, never raised
        )
        identity, person = caller_of(runtime, config, services)
        who = check_reconciler(role=Role(person.role)) if person else identity
        if not who.allowed or person is None:
            return "tool_reconcile_refused", who, {}, 0.0, ToolRun()
        answer = read_reconcile(raw)
        if isinstance(answer, Verdict):
            return "tool_reconcile_refused", answer, {}, 0.0, ToolRun()
        if answer.outcome == "done":
            result = {"reconciled": "done", "by": person.user_id, "note": answer.note}
            ledger.finish(
                key,
                success=True,
                result=result,
                now=now,
                resolved_by=person.user_id,
                status="reconciled_done",
            )
            done = Verdict(Decision.ALLOW, ReasonCode.RECONCILED, "done", who.policy_id)
            return "tool_reconciled", done, result, 0.0, ToolRun()
    if row is not None:
        ledger.restart(key, now=now)
    ctx = tool_context(state, runtime, config, services, thread, str(call["id"]), key)
    # Each attempt is charged the tool's price just before it goes out (a budget that cannot pay
    # stops it); the first attempt keeps the spend key a call always had.
    revealed = reveal_args(services, thread, data["args"])  # only the tool gets the PII values
    if isinstance(revealed, Verdict):
        result = {"error": "unknown_pii_token", "message": revealed.detail}
        verdict, run = revealed, ToolRun()
    else:
        verdict, result, run = run_tool(
            services,
            call["name"],
            revealed[0],
            ctx,
            charge=lambda n: charge_tool_call(state, services, call, n),
        )
    ledger.finish(key, success=verdict.allowed, result=result, now=services.clock())
    return "tool_execution", verdict, result, run.cost_usd, run


def tool_context(
    state: State,
    runtime: Runtime[Context],
    config: RunnableConfig,
    services: Services,
    thread: str,
    call_id: str,
    key: str,
) -> ToolCallContext:
    """What the tool is told: the run's requester (from the ledger), the call, and resources.

    Per-run resources come only from a trusted Python caller's context and never replace a
    pack's own (a run cannot point the desk tools at another file); a server ignores them.
    """
    requester = requester_of(state, config, services)
    extra = {} if services.server_auth else dict(getattr(runtime.context, "resources", None) or {})
    return ToolCallContext(
        user_id=requester.user_id if requester else "",
        role=requester.role if requester else "read",
        tenant=requester.tenant if requester else None,
        thread_id=thread,
        tool_call_id=call_id,
        idempotency_key=key,
        resources={**extra, **services.resources},
    )


_TRANSITION_VERDICTS = {
    "open": (Decision.DENY, ReasonCode.BREAKER_OPEN, "opened: refused until it cools down"),
    "half_open": (Decision.ALLOW, ReasonCode.BREAKER_HALF_OPEN_PROBE, "half-open: one probe"),
    "closed": (Decision.ALLOW, ReasonCode.OK, "closed: the tool answered again"),
}


def transition_events(
    state: State,
    runtime: Runtime[Context],
    config: RunnableConfig,
    call: Mapping[str, Any],
    run: ToolRun,
) -> list[AuditEvent]:
    """One "breaker_transition" audit row per phase change of the tool's breaker during the call.

    The breaker counts attempts, so a call whose retries fail can open it: the audit must show
    when, why and after how many failures, next to the call that did it.
    """
    events = []
    for moved in run.transitions:
        decision, code, text = _TRANSITION_VERDICTS.get(
            moved.after, (Decision.DENY, ReasonCode.POLICY_ERROR, f"moved to {moved.after}")
        )
        detail = f"breaker {moved.name} {text} ({moved.cause})"
        verdict = Verdict(decision, code, detail, "breaker.tool")
        events.append(
            make_event(
                "execute_tool",
                "breaker_transition",
                state,
                runtime,
                config,
                verdict,
                tool_name=call["name"],
                tool_call_id=call["id"],
                breaker_state=moved.after,
                success=moved.after == "closed",
                input={
                    "name": moved.name,
                    "before": moved.before,
                    "after": moved.after,
                    "cause": moved.cause,
                    "consecutive_failures": moved.consecutive_failures,
                    "at": moved.at,
                },
            )
        )
    return events


def reconciler_id(
    runtime: Runtime[Context], config: RunnableConfig, services: Services
) -> str | None:
    _, person = caller_of(runtime, config, services)
    return person.user_id if person else None


def on_record(state: State, config: RunnableConfig, services: Services) -> bool:
    """Say whether the ledger shows `authorize` (or `approval`) let exactly this call run."""
    record = recorded_decision(state, config, services)
    return record is not None and record.runnable
