"""How execute_tool settles one call: the ledger check, then run, replay or reconcile.

`on_record` is the construction behind invariant 2: a call runs only if the decision ledger has an
`allowed` or `approved` row for the digest of exactly the tool and arguments about to run.
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from graph.context import Context
from graph.services import Services
from graph.state import State
from nodes._budget import charge_tool_call
from nodes._identity import caller_of, recorded_decision, requester_of
from nodes._tool_run import run_tool
from policies.reconcile import ReconcileResponse, check_reconciler
from policies.verdict import Decision, ReasonCode, Role, Verdict
from tools.spec import ToolCallContext


def settle(state: State, runtime: Runtime[Context], config: RunnableConfig, services: Services, key: str,
            thread: str) -> tuple[str, Verdict, dict[str, Any], float]:
    """Decide from the ledger whether to run, replay or reconcile; return (event kind, verdict, result, cost)."""
    call, data = state["pending_calls"][0], state["authorization"]["data"]  # type: ignore[index]
    spec, now, ledger = services.tools[call["name"]], services.clock(), services.executions
    row = ledger.begin(key, thread_id=thread, tool_call_id=call["id"], digest=data["digest"],
                       tool_name=call["name"], now=now)
    if row is not None and row.finished:
        return "tool_replayed", Verdict(Decision.ALLOW, ReasonCode.REPLAYED, "recorded result returned",
                                        "execute_tool.ledger"), row.result or {}, 0.0
    if row is not None and not spec.idempotent and row.status == "started":
        answer: ReconcileResponse = interrupt({
            "kind": "reconcile", "tool_name": row.tool_name, "tool_call_id": row.tool_call_id, "args": data["args"],
            "action_digest": row.action_digest, "started_at": row.started_at, "attempts": row.attempts,
            "question": f"{row.tool_name} started but never reported back. Did its side effect happen?",
        }, response_schema=ReconcileResponse)
        identity, person = caller_of(runtime, config, services)
        who = check_reconciler(role=Role(person.role)) if person else identity
        if not who.allowed or person is None:
            return "tool_reconcile_refused", who, {}, 0.0
        if answer.outcome == "done":
            result = {"reconciled": "done", "by": person.user_id, "note": answer.note}
            ledger.finish(key, success=True, result=result, now=now, resolved_by=person.user_id,
                          status="reconciled_done")
            return "tool_reconciled", Verdict(Decision.ALLOW, ReasonCode.RECONCILED, "done", who.policy_id), result, 0.0
    charge, cost = charge_tool_call(state, services, call)
    if not charge.allowed:  # the tool's own price does not fit a budget: it does not run
        ledger.finish(key, success=False, result={"error": charge.reason_code.value}, now=now)
        return "tool_execution", charge, {"error": charge.reason_code.value, "message": charge.detail}, 0.0
    if row is not None:
        ledger.restart(key, now=now)
    ctx = tool_context(state, runtime, config, services, thread, str(call["id"]), key)
    verdict, result = run_tool(services, call["name"], data["args"], ctx)
    ledger.finish(key, success=verdict.allowed, result=result, now=services.clock())
    return "tool_execution", verdict, result, cost


def tool_context(state: State, runtime: Runtime[Context], config: RunnableConfig, services: Services,
                 thread: str, call_id: str, key: str) -> ToolCallContext:
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


def reconciler_id(runtime: Runtime[Context], config: RunnableConfig, services: Services) -> str | None:
    _, person = caller_of(runtime, config, services)
    return person.user_id if person else None


def on_record(state: State, config: RunnableConfig, services: Services) -> bool:
    """Say whether the ledger shows `authorize` (or `approval`) let exactly this call run."""
    record = recorded_decision(state, config, services)
    return record is not None and record.runnable
