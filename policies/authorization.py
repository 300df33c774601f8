"""Decide whether a caller may run a proposed tool call: tool known, arguments valid, role enough.

The model only proposes. This policy takes the caller's role from runtime context (never from
the conversation) and the tool's declared rule, and answers allow, ask_approval or deny with a
reason the model can read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from safe_agent.policies.approval import decide_approval
from safe_agent.policies.config import ApprovalConfig
from safe_agent.policies.verdict import Decision, ReasonCode, Role, Tier, Verdict, deny, fail_closed


class ToolRule(Protocol):
    """What authorization needs to know about a tool (a `tools.ToolSpec` fits)."""

    @property
    def name(self) -> str: ...
    @property
    def required_role(self) -> Role: ...
    @property
    def tier(self) -> Tier: ...
    @property
    def args_schema(self) -> type[BaseModel]: ...


def _summarise_errors(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "arguments"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


@fail_closed("authorize")
def authorize_tool_call(
    *,
    tool_name: str,
    args: Any,
    role: Role,
    tools: Mapping[str, ToolRule],
    approval: ApprovalConfig,
) -> Verdict:
    """Authorise one proposed call.

    On allow or ask_approval, `data["args"]` holds the validated arguments.
    """
    rule = tools.get(tool_name)
    if rule is None:
        return deny(
            ReasonCode.UNKNOWN_TOOL,
            f"there is no tool named {tool_name[:60]!r}; available: {', '.join(sorted(tools))}",
            "authorize.unknown_tool",
        )
    if not isinstance(args, dict):
        return deny(
            ReasonCode.INVALID_ARGUMENTS, "arguments must be a JSON object", "authorize.args"
        )
    try:
        parsed = rule.args_schema.model_validate(args)
    except ValidationError as exc:
        return deny(
            ReasonCode.INVALID_ARGUMENTS,
            f"invalid arguments for {rule.name}: {_summarise_errors(exc)}",
            "authorize.args",
        )
    if not role.at_least(rule.required_role):
        return deny(
            ReasonCode.INSUFFICIENT_ROLE,
            f"{rule.name} needs the {rule.required_role.value} role; the caller has {role.value}",
            f"authorize.role.{rule.required_role.value}",
            required_role=rule.required_role.value,
            tier=rule.tier.value,
        )
    args_json = parsed.model_dump(mode="json")
    data = {"args": args_json, "tier": rule.tier.value}
    needs = decide_approval(tool_name=rule.name, tier=rule.tier, args=args_json, config=approval)
    if needs.decision is Decision.DENY:
        return needs
    if needs.decision is Decision.ASK_APPROVAL:
        return Verdict(
            needs.decision, needs.reason_code, needs.detail, needs.policy_id, {**data, **needs.data}
        )
    return Verdict(Decision.ALLOW, ReasonCode.OK, "", f"authorize.tier.{rule.tier.value}", data)
