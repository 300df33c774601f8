"""Operator commands of `safe-agent`: settle in-doubt calls, expire stale approvals, kill switches.

They register on the same `cli` group and follow its rules: one facade method each, `--json`,
one-line errors. Each acts as the principal of the caller's API key and needs the admin role.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import click

from safe_agent.cli import _emit, _guard, cli, home_option, json_option, open_agent
from safe_agent.cli_identity import identity_options, require_admin, resolve_principal

if TYPE_CHECKING:  # the commands import what they use: `--help` loads no LangGraph
    from safe_agent.stores.principals import PrincipalRecord


def _operator(
    home: str | None,
    key_file: str | None,
    as_id: str | None,
    what: str,
) -> PrincipalRecord:
    """Return the admin principal running an operator command, or refuse."""
    me = resolve_principal(home, key_file, as_id)
    require_admin(me, what)
    return me


@cli.command()
@click.argument("thread_id")
@click.option(
    "--done",
    "done",
    flag_value=True,
    default=None,
    help="The side effect happened: record it, do not re-run.",
)
@click.option("--not-done", "done", flag_value=False, help="It did not happen: run the call now.")
@click.option("--note", default="", help="What was checked.")
@identity_options
@home_option
@json_option
@_guard
def reconcile(
    thread_id: str,
    done: bool | None,
    note: str,
    key_file: str | None,
    as_id: str | None,
    home: str | None,
    as_json: bool,
) -> None:
    """Settle a call left in doubt by a crash; admin only (Python: `SafeAgent.reconcile`).

    Example: safe-agent reconcile 3f2a... --done --note "refund seen in PSP"
    """
    if done is None:
        raise click.UsageError("give --done or --not-done")
    from safe_agent.cli_display import result_payload, show_result

    me = _operator(home, key_file, as_id, "reconcile")
    with open_agent(home) as agent:
        result = agent.reconcile(
            thread_id, done=done, operator_id=me.id, operator_role=me.role, note=note
        )
        shown = result_payload(result, agent.services.vault)  # masked like run and resume
    _emit(as_json, shown, lambda: show_result(shown))


@cli.command()
@identity_options
@home_option
@json_option
@_guard
def sweep(key_file: str | None, as_id: str | None, home: str | None, as_json: bool) -> None:
    """Expire approval requests past their deadline, across all threads; admin only.

    Python: `SafeAgent.sweep`.

    Example: safe-agent sweep --json
    """
    _operator(home, key_file, as_id, "sweep")
    with open_agent(home) as agent:
        expired = agent.sweep()
    _emit(
        as_json,
        {"expired": expired},
        lambda: click.echo(f"expired {len(expired)} request(s) {' '.join(expired)}"),
    )


@cli.command("switch-off")
@click.argument("target")
@click.option("--reason", required=True, help="Why (shown to users and in the audit log).")
@identity_options
@home_option
@json_option
@_guard
def switch_off(
    target: str,
    reason: str,
    key_file: str | None,
    as_id: str | None,
    home: str | None,
    as_json: bool,
) -> None:
    """Stop all, model, model:NAME, writes, tool:NAME, tenant:NAME or user:ID everywhere until
    revived, and void the pending approvals it covers; admin only.

    Python: `SafeAgent.switch_off`.

    Example: safe-agent switch-off tool:issue_refund --reason "payment provider incident"
    """
    from safe_agent import switches as switch_ops  # `switches` is a command below

    me = _operator(home, key_file, as_id, "switch-off")
    with open_agent(home) as agent:
        done = switch_ops.switch_off(
            agent, target, reason=reason, operator_id=me.id, operator_role=me.role
        )

    def human() -> None:
        click.echo(f"{done.switch.target} is switched off ({done.switch.reason})")
        for v in done.voided:
            click.echo(
                f"  voided: {v['tool_name']} requested by {v['requester_id']} "
                f"on thread {v['thread_id']}"
            )

    _emit(as_json, done.to_dict(), human)


@cli.command("switch-on")
@click.argument("target")
@identity_options
@home_option
@json_option
@_guard
def switch_on(
    target: str,
    key_file: str | None,
    as_id: str | None,
    home: str | None,
    as_json: bool,
) -> None:
    """Revive a switched-off target (voided approvals stay voided); admin only.

    Python: `SafeAgent.switch_on`.

    Example: safe-agent switch-on tool:issue_refund
    """
    me = _operator(home, key_file, as_id, "switch-on")
    with open_agent(home) as agent:
        revived = agent.switch_on(target, operator_id=me.id, operator_role=me.role)
    _emit(
        as_json,
        {"target": target, "revived": revived},
        lambda: click.echo(f"{target} {'is back on' if revived else 'was not switched off'}"),
    )


@cli.command()
@home_option
@json_option
@_guard
def switches(home: str | None, as_json: bool) -> None:
    """List the active kill switches (Python: `SafeAgent.kill_switches`).

    Example: safe-agent switches --json
    """
    with open_agent(home) as agent:
        rows = [dataclasses.asdict(k) for k in agent.kill_switches()]

    def human() -> None:
        for r in rows:
            click.echo(f"{r['target']}  by {r['set_by']}: {r['reason']}")
        if not rows:
            click.echo("no kill switches are on")

    _emit(as_json, rows, human)
