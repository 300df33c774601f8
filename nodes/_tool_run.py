"""Run one tool behind its breaker and timeout, turning every failure into a structured result."""

from __future__ import annotations

from typing import Any

from graph.services import Services
from nodes._calls import call_with_timeout, describe_failure
from policies.verdict import ReasonCode, Verdict, allow, deny
from tools.spec import ToolCallContext, ToolFailure


def run_tool(services: Services, name: str, args: dict[str, Any], ctx: ToolCallContext) -> tuple[Verdict, dict[str, Any]]:
    """Run `name` with validated `args`; an open breaker, a timeout or a crash become a deny and an error dict."""
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
