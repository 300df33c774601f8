"""Node: run one authorised tool call exactly once, with its timeout and breaker; never crash the run.

Before any side effect the run's pending audit events are written (invariant 5). Every call is
recorded in the execution ledger under a key derived from (thread, tool_call_id, action digest):
a replayed node returns the recorded result; a call left "started" by a crash is re-run only if
the tool is idempotent, otherwise the thread pauses for a person to reconcile it.
"""

from __future__ import annotations

import json
import time
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from graph.context import Context
from graph.services import Services
from graph.state import AUDIT_FLUSHED, State
from nodes._budget import charge_tool_call
from nodes._common import make_event, thread_id_of
from nodes._tool_run import result_text, run_tool
from policies.input_guard import scan_tool_output
from policies.reconcile import ReconcileResponse, check_reconciler
from policies.verdict import Decision, ReasonCode, Role, Verdict, deny
from tools.spec import ToolCallContext, idempotency_key_for

MAX_RESULT_CHARS = 8_000


def _settle(state: State, runtime: Runtime[Context], services: Services, key: str, thread: str
            ) -> tuple[str, Verdict, dict[str, Any], float]:
    """Decide from the ledger whether to run, replay or reconcile; return (event kind, verdict, result, cost)."""
    call, data = state["pending_calls"][0], state["authorization"]["data"]  # type: ignore[index]
    spec, now, ledger = services.tools[call["name"]], services.clock(), services.executions
    row = ledger.begin(key, thread_id=thread, tool_call_id=call["id"], digest=data["digest"],
                       tool_name=call["name"], now=now)
    if row is not None and row.finished:
        return "tool_replayed", Verdict(Decision.ALLOW, ReasonCode.REPLAYED, "recorded result returned",
                                        "execute_tool.ledger"), row.result or {}, 0.0
    if row is not None and not spec.idempotent:
        answer: ReconcileResponse = interrupt({
            "kind": "reconcile", "tool_name": row.tool_name, "tool_call_id": row.tool_call_id, "args": data["args"],
            "action_digest": row.action_digest, "started_at": row.started_at, "attempts": row.attempts,
            "question": f"{row.tool_name} started but never reported back. Did its side effect happen?",
        }, response_schema=ReconcileResponse)
        who = check_reconciler(role=Role(runtime.context.role))
        if not who.allowed:
            return "tool_reconcile_refused", who, {}, 0.0
        if answer.outcome == "done":
            result = {"reconciled": "done", "by": runtime.context.user_id, "note": answer.note}
            ledger.finish(key, success=True, result=result, now=now, resolved_by=runtime.context.user_id,
                          status="reconciled_done")
            return "tool_reconciled", Verdict(Decision.ALLOW, ReasonCode.RECONCILED, "done", who.policy_id), result, 0.0
    charge, cost = charge_tool_call(state, services, call)
    if not charge.allowed:  # the tool's own price does not fit a budget: it does not run
        ledger.finish(key, success=False, result={"error": charge.reason_code.value}, now=now)
        return "tool_execution", charge, {"error": charge.reason_code.value, "message": charge.detail}, 0.0
    if row is not None:
        ledger.restart(key, now=now)
    ctx = ToolCallContext(desk_db_path=str(services.paths.desk), user_id=state["principal"]["user_id"],
                          thread_id=thread, tool_call_id=call["id"], idempotency_key=key)
    verdict, result = run_tool(services, call["name"], data["args"], ctx)
    ledger.finish(key, success=verdict.allowed, result=result, now=services.clock())
    return "tool_execution", verdict, result, cost


def execute_tool(state: State, runtime: Runtime[Context], config: RunnableConfig, *, services: Services) -> dict[str, Any]:
    """Run (or replay, or reconcile) the head pending call, if it was authorised and approved where needed."""
    call, auth = state["pending_calls"][0], state.get("authorization") or {}
    services.audit.append(state.get("audit_events", []))
    thread = thread_id_of(config) or state.get("run_id", "")
    data = auth.get("data", {})
    key = idempotency_key_for(thread, f"{call['id']}:{data.get('digest', '')}")
    started = time.perf_counter()
    if auth.get("decision") == Decision.ALLOW.value or data.get("approved_by"):
        kind, verdict, result, cost = _settle(state, runtime, services, key, thread)
    else:
        kind, verdict, result, cost = "tool_execution", deny(ReasonCode.POLICY_ERROR, "call was not authorised",
                                                             "execute_tool.guard"), {"error": "not_authorised"}, 0.0
    text = json.dumps(result, default=str)[:MAX_RESULT_CHARS]
    scan = scan_tool_output(result_text(result))
    event = make_event("execute_tool", kind, state, runtime, config, verdict, tool_name=call["name"],
                       tool_call_id=call["id"], input={"args": data.get("args"), "idempotency_key": key,
                                                        "digest": data.get("digest")},
                       result_summary=text[:300], latency_ms=(time.perf_counter() - started) * 1000,
                       success=verdict.allowed, error=None if verdict.allowed else verdict.detail, cost_usd=cost,
                       approver_id=runtime.context.user_id if kind.startswith("tool_reconcile") else data.get("approved_by"))
    if kind == "tool_reconcile_refused":  # stays in doubt: audited, then paused again
        refused = {**data, "last_refusal": f"{verdict.reason_code.value}: {verdict.detail}"}
        return {"authorization": {**auth, "data": refused}, "audit_events": [AUDIT_FLUSHED, event]}
    if not scan.allowed:
        text = json.dumps({"withheld": True, "reason": "tool output contained instructions aimed at the assistant"})
    events = [event] + ([] if scan.allowed else [make_event("execute_tool", "tool_output_verdict", state, runtime,
                                                             config, scan, tool_name=call["name"],
                                                             tool_call_id=call["id"], success=False)])
    message = ToolMessage(content=text, tool_call_id=call["id"], name=call["name"],
                          status="success" if verdict.allowed else "error")
    return {"messages": [message], "pending_calls": state["pending_calls"][1:], "authorization": None,
            "audit_events": [AUDIT_FLUSHED, *events], "cost_usd": round(state.get("cost_usd", 0.0) + cost, 8)}
