"""Operator commands of `safe-agent`: settle in-doubt calls, expire stale approvals, kill switches.

They register on the same `cli` group and follow its rules: one facade method each, `--json`,
one-line errors.
"""

from __future__ import annotations

import dataclasses

import click

from safe_agent.cli import _emit, _guard, _show_result, cli, home_option, json_option
from safe_agent.facade import SafeAgent

operator_option = click.option("--as", "operator_id", required=True, help="The operator's user id.")
role_option = click.option("--role", "operator_role", type=click.Choice(["read", "write", "admin"]), default="admin",
                           show_default=True, help="The operator's role (admin needed).")


@cli.command()
@click.argument("thread_id")
@click.option("--done", "done", flag_value=True, default=None, help="The side effect happened: record it, do not re-run.")
@click.option("--not-done", "done", flag_value=False, help="It did not happen: run the call now.")
@click.option("--as", "operator_id", required=True, help="Who checked the downstream system.")
@click.option("--role", "operator_role", type=click.Choice(["read", "write", "admin"]), default="admin",
              show_default=True, help="The operator's role (admin needed).")
@click.option("--note", default="", help="What was checked.")
@home_option
@json_option
@_guard
def reconcile(thread_id: str, done: bool | None, operator_id: str, operator_role: str, note: str, home: str | None,
              as_json: bool) -> None:
    """Settle a call left in doubt by a crash (Python: `SafeAgent.reconcile`).

    Example: safe-agent reconcile 3f2a... --done --as ops-1 --note "refund seen in PSP"
    """
    if done is None:
        raise click.UsageError("give --done or --not-done")
    with SafeAgent.open(home) as agent:
        result = agent.reconcile(thread_id, done=done, operator_id=operator_id, operator_role=operator_role, note=note)
    _emit(as_json, result.to_dict(), lambda: _show_result(result))


@cli.command()
@home_option
@json_option
@_guard
def sweep(home: str | None, as_json: bool) -> None:
    """Expire approval requests past their deadline, across all threads (Python: `SafeAgent.sweep`).

    Example: safe-agent sweep --json
    """
    with SafeAgent.open(home) as agent:
        expired = agent.sweep()
    _emit(as_json, {"expired": expired}, lambda: click.echo(f"expired {len(expired)} request(s) {' '.join(expired)}"))


@cli.command("switch-off")
@click.argument("target")
@click.option("--reason", required=True, help="Why (shown to users and in the audit log).")
@operator_option
@role_option
@home_option
@json_option
@_guard
def switch_off(target: str, reason: str, operator_id: str, operator_role: str, home: str | None,
               as_json: bool) -> None:
    """Stop all, model, tool:NAME, tenant:NAME or user:ID everywhere until revived (Python: `SafeAgent.switch_off`).

    Example: safe-agent switch-off tool:issue_refund --reason "payment provider incident" --as ops-1
    """
    with SafeAgent.open(home) as agent:
        switch = agent.switch_off(target, reason=reason, operator_id=operator_id, operator_role=operator_role)
    _emit(as_json, dataclasses.asdict(switch), lambda: click.echo(f"{switch.target} is switched off ({switch.reason})"))


@cli.command("switch-on")
@click.argument("target")
@operator_option
@role_option
@home_option
@json_option
@_guard
def switch_on(target: str, operator_id: str, operator_role: str, home: str | None, as_json: bool) -> None:
    """Revive a switched-off target (Python: `SafeAgent.switch_on`).

    Example: safe-agent switch-on tool:issue_refund --as ops-1
    """
    with SafeAgent.open(home) as agent:
        revived = agent.switch_on(target, operator_id=operator_id, operator_role=operator_role)
    _emit(as_json, {"target": target, "revived": revived},
          lambda: click.echo(f"{target} {'is back on' if revived else 'was not switched off'}"))


@cli.command()
@home_option
@json_option
@_guard
def switches(home: str | None, as_json: bool) -> None:
    """List the active kill switches (Python: `SafeAgent.kill_switches`).

    Example: safe-agent switches --json
    """
    with SafeAgent.open(home) as agent:
        rows = [dataclasses.asdict(k) for k in agent.kill_switches()]

    def human() -> None:
        for r in rows:
            click.echo(f"{r['target']}  by {r['set_by']}: {r['reason']}")
        if not rows:
            click.echo("no kill switches are on")

    _emit(as_json, rows, human)
