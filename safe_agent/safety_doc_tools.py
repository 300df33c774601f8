"""The tool authorization matrix of `docs/agent-safety.md`, and the markdown helpers it shares.

Rendered from the loaded `ToolSpec`s and the approval policy, so a review reads the tier, role,
approval rule, timeout and idempotency each tool really runs under (`safe_agent.safety_doc`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from safe_agent.policies.config import ApprovalConfig, ApprovalRule, ArgCondition, SafetyConfig
from safe_agent.policies.verdict import Role, Tier
from safe_agent.tools.spec import ToolSpec

_OPS = {
    "gt": ">",
    "ge": ">=",
    "lt": "<",
    "le": "<=",
    "eq": "==",
    "ne": "!=",
    "in": "in",
    "not_in": "not in",
    "domain_in": "domain in",
    "domain_not_in": "domain not in",
}


def md_cell(text: str) -> str:
    """Make text safe inside a markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Render a markdown table; the same input always gives the same text, so --check is exact."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def md_duration(seconds: float) -> str:
    """Show whole hours as hours (an approval's 86,400 s TTL reads "24 h"), else seconds."""
    return f"{seconds / 3600:g} h" if seconds >= 3600 and seconds % 3600 == 0 else f"{seconds:g} s"


def md_value(value: Any) -> str:
    """Show a config default the way an operator would write it; None is 'off'."""
    if value is None:
        return "off"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float | int):
        return f"{value:,g}" if abs(value) >= 10_000 else f"{value:g}"
    if isinstance(value, tuple | list):
        return ", ".join(md_value(v) for v in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{k} = {md_value(v)}" for k, v in value.items()) or "none"
    return str(getattr(value, "value", value))


def _condition(cond: ArgCondition) -> str:
    return f"{cond.arg} {_OPS[cond.op]} {md_value(cond.value)}"


def _rule_text(rule: ApprovalRule) -> str:
    if not rule.require:
        return f"exempt (`{rule.id}`)"
    who = rule.approver_role.value + (
        f" in {', '.join(rule.approver_groups)}" if rule.approver_groups else ""
    )
    apart = ", not the requester" if rule.separate_requester else ""
    return f"`{rule.id}`: {rule.quorum} × {who}{apart}, expires in {md_duration(rule.ttl_s)}"


def approval_text(spec: ToolSpec, config: ApprovalConfig) -> str:
    """Say which approval rule governs the tool's calls, in the order `decide_approval` tries them.

    Rules with argument conditions are listed with their condition and the search goes on, as it
    does at run time for a call whose arguments do not meet them; the first rule without conditions
    ends it, else the admin fallback for the tiers in `unmatched_tiers`, else no approval.
    """
    parts: list[str] = []
    last: ApprovalRule | None = None
    for rule in config.rules:
        if (rule.tools and spec.name not in rule.tools) or (
            rule.tiers and spec.tier not in rule.tiers
        ):
            continue
        if rule.when:
            parts.append(f"if {' and '.join(_condition(c) for c in rule.when)}: {_rule_text(rule)}")
            continue
        last = rule
        break
    else:
        if spec.tier in config.unmatched_tiers:
            last = ApprovalRule(id=f"fallback.{spec.tier.value}", approver_role=Role.ADMIN)
    otherwise = "otherwise " if parts else ""
    parts.append(otherwise + (_rule_text(last) if last is not None else "none"))
    if spec.tier is not Tier.READ_ONLY and spec.sinks:  # provenance (policies/provenance.py)
        if spec.policy.untrusted_sinks == "deny":
            parts.append("denied if its sinks come only from untrusted output")
        elif last is None or not last.require:
            parts.append(
                f"`{config.provenance.id}` approval if its sinks come only from untrusted output"
            )
    return "; ".join(parts)


def _idempotency(spec: ToolSpec) -> str:
    if spec.policy.idempotent:
        return "yes"
    return "key" if spec.policy.accepts_idempotency_key else "no"


def _output(spec: ToolSpec) -> str:
    if spec.policy.trusted_output:
        return "trusted"
    fields = spec.policy.trusted_fields
    return f"untrusted, except {', '.join(fields)}" if fields else "untrusted"


def render_tools(tools: Mapping[str, ToolSpec], config: SafetyConfig) -> str:
    """The matrix: one row per tool, under the operator's policies and approval rules."""
    rows = [
        [
            f"`{name}`",
            spec.tier.value,
            spec.required_role.value,
            approval_text(spec, config.approval),
            f"{spec.timeout_s:g}",
            _idempotency(spec),
            ", ".join(spec.sinks) or "none",
            _output(spec),
        ]
        for name, spec in tools.items()
    ]
    header = (
        "tool",
        "tier",
        "least role",
        "approval rule",
        "timeout s",
        "idempotent",
        "sinks",
        "output",
    )
    source = ", ".join(f"`{s}`" for s in config.tools.load)
    return f"Tool set: {source} (`[tools] load`).\n\n" + md_table(header, rows)
