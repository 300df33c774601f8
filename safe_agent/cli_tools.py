"""`safe-agent tools`: the tool set the config loads, and the policy each tool runs under.

It registers on the same `cli` group and follows its rules (`--json`, one-line errors). It needs
no principal and creates nothing: it loads `[tools] load` as Python, the CLI and Studio do, and
shows what the safety nodes will enforce, so an operator can check a user pack before any run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from safe_agent.cli import _emit, _guard, cli, json_option

if TYPE_CHECKING:  # the tool set loads LangChain: imported when `tools` runs, not for `--help`
    from safe_agent.tools.spec import ToolSpec


def describe_tool(spec: ToolSpec, configured: bool) -> dict[str, Any]:
    """Return one tool's policy as JSON-ready data, saying where the policy came from.

    `policy_from` is "config" for `[tools.policies.NAME]`, "default" when the tool runs under the
    fail-closed default (nobody declared one), else "code".
    """
    from safe_agent.policies.config import ToolPolicy

    policy = spec.policy
    source = "config" if configured else "default" if policy == ToolPolicy() else "code"
    return {
        "name": spec.name,
        "tier": policy.tier.value,
        "required_role": policy.required_role.value,
        "sinks": list(spec.sinks),
        "trusted_output": policy.trusted_output,
        "trusted_fields": list(policy.trusted_fields),
        "untrusted_sinks": policy.untrusted_sinks,
        "idempotent": policy.idempotent,
        "timeout_s": policy.timeout_s,
        "policy_from": source,
        "description": spec.description,
    }


def format_tool(row: dict[str, Any]) -> str:
    """Render one tool on one line."""
    trust = "trusted" if row["trusted_output"] else "untrusted"
    if row["trusted_fields"] and not row["trusted_output"]:
        trust = f"mixed({len(row['trusted_fields'])} trusted fields)"
    bits = [
        f"{row['name']:<24}",
        f"{row['tier']:<12}",
        f"role={row['required_role']:<5}",
        f"sinks={','.join(row['sinks']) or '-'}",
        f"output={trust}",
        "idempotent" if row["idempotent"] else "not-idempotent",
        f"timeout={row['timeout_s']:g}s",
        f"policy={row['policy_from']}",
    ]
    return "  ".join(bits)


@cli.command(name="tools")
@json_option
@_guard
def list_tools(as_json: bool) -> None:
    """List the loaded tools and their policies (Python: `safe_agent.settings.load_tool_set`).

    The tools are `[tools] load` of $SAFE_AGENT_CONFIG (default: the demo desk), with
    `[tools.policies.NAME]` applied. Nothing is created and no tool runs.

    Example: SAFE_AGENT_CONFIG=ops.toml safe-agent tools --json
    """
    from safe_agent.settings import load_config, load_tool_set

    config = load_config()
    rows = [
        describe_tool(spec, name in config.tools.policies)
        for name, spec in load_tool_set(config).items()
    ]
    _emit(as_json, rows, lambda: [click.echo(format_tool(r)) for r in rows])
