"""Node: run one authorised tool call with its timeout and breaker, and never crash the run.

Before any side effect the run's pending audit events are written (invariant 5). The tool gets
an idempotency key derived from (thread, tool_call_id), so a repeated execution of the same call
is recognised by the tool's own store. Output is scanned for injected instructions before the
model sees it.
"""

from __future__ import annotations

import json
import time
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from graph.context import Context
from graph.services import Services
from graph.state import State
from nodes._calls import call_with_timeout, describe_failure
from nodes._common import make_event, thread_id_of
from policies.input_guard import scan_tool_output
from policies.verdict import Decision, ReasonCode, Verdict, allow, deny
from tools.spec import ToolCallContext, ToolFailure, idempotency_key_for

MAX_RESULT_CHARS = 8_000


def _cleared(auth: dict[str, Any] | None) -> bool:
    if not auth:
        return False
    return auth["decision"] == Decision.ALLOW.value or bool(auth["data"].get("approved_by"))


def _run(services: Services, name: str, args: dict[str, Any], ctx: ToolCallContext) -> tuple[Verdict, dict[str, Any]]:
    spec = services.tools[name]
    gate, _ = services.breakers.acquire(f"tool:{name}", now=services.clock(), config=services.config.breaker)
    if not gate.allowed:
        return deny(ReasonCode.TOOL_UNAVAILABLE, f"{name} is temporarily unavailable", gate.policy_id), {
            "error": "tool_unavailable", "message": gate.detail}
    try:
        result = call_with_timeout(lambda: spec.run(spec.args_schema.model_validate(args), ctx), spec.timeout_s)
        verdict, healthy = allow("execute_tool"), True
    except ToolFailure as exc:  # the tool worked and said no: not a health problem
        verdict, healthy = deny(ReasonCode.TOOL_ERROR, exc.message, f"tool.{name}"), True
        result = {"error": exc.code, "message": exc.message}
    except Exception as exc:  # noqa: BLE001 - any tool crash is a structured result
        failure = describe_failure(exc)
        code = ReasonCode.TOOL_TIMEOUT if failure.kind == "timeout" else ReasonCode.TOOL_ERROR
        verdict, healthy = deny(code, failure.message, f"tool.{name}"), False
        result = {"error": code.value, "message": f"{name} failed: {failure.message}"}
    services.breakers.record(f"tool:{name}", success=healthy, now=services.clock(), config=services.config.breaker)
    return verdict, result


def execute_tool(state: State, runtime: Runtime[Context], config: RunnableConfig, *, services: Services) -> dict[str, Any]:
    """Run the head pending call if (and only if) it was authorised and, where needed, approved."""
    call, auth = state["pending_calls"][0], state.get("authorization")
    services.audit.append(state.get("audit_events", [])[state.get("audit_written", 0):])
    thread = thread_id_of(config) or state.get("run_id", "")
    key = idempotency_key_for(thread, call["id"])
    started = time.perf_counter()
    if not _cleared(auth):
        verdict = deny(ReasonCode.POLICY_ERROR, "call was not authorised", "execute_tool.guard")
        result: dict[str, Any] = {"error": "not_authorised"}
    else:
        ctx = ToolCallContext.for_call(str(services.paths.desk), state["principal"]["user_id"], thread, call["id"])
        args = auth["data"]["args"]
        verdict, result = _run(services, call["name"], args, ctx)
    text = json.dumps(result, default=str)[:MAX_RESULT_CHARS]
    scan = scan_tool_output(text)
    if not scan.allowed:
        text = json.dumps({"withheld": True, "reason": "tool output contained instructions aimed at the assistant"})
    latency_ms = (time.perf_counter() - started) * 1000
    event = make_event("execute_tool", "tool_execution", state, runtime, config, verdict, tool_name=call["name"],
                       tool_call_id=call["id"], input={"args": (auth or {}).get("data", {}).get("args"),
                                                        "idempotency_key": key},
                       result_summary=text[:300], latency_ms=latency_ms, success=verdict.allowed,
                       error=None if verdict.allowed else verdict.detail,
                       approver_id=(auth or {}).get("data", {}).get("approved_by"))
    events = [event] if scan.allowed else [event, make_event("execute_tool", "tool_output_verdict", state, runtime,
                                                             config, scan, tool_name=call["name"],
                                                             tool_call_id=call["id"], success=False)]
    message = ToolMessage(content=text, tool_call_id=call["id"], name=call["name"],
                          status="success" if verdict.allowed else "error")
    return {"messages": [message], "pending_calls": state["pending_calls"][1:], "authorization": None,
            "audit_events": events}
