"""The `safe-agent` command: a thin mirror of `SafeAgent` (run, pending, resume, audit, demo).

Every command takes `--json` for scripts. Known errors print one line and exit 1; an
unexpected error prints one line and exits 2. Never a traceback.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from safe_agent.errors import SafeAgentError
from safe_agent.facade import SafeAgent
from safe_agent.results import RunResult


def _emit(as_json: bool, payload: Any, human: Callable[[], None]) -> None:
    if as_json:
        click.echo(json.dumps(payload, indent=2, default=str))
    else:
        human()


def _guard(fn: Callable[..., None]) -> Callable[..., None]:
    """Turn any error into one line on stderr and a non-zero exit."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            fn(*args, **kwargs)
        except SafeAgentError as exc:
            raise click.ClickException(f"{exc.reason_code}: {exc}") from None
        except (click.ClickException, click.exceptions.Exit):
            raise
        except Exception as exc:  # noqa: BLE001 - the CLI edge: one line, never a traceback
            click.echo(f"Error: internal error: {type(exc).__name__}: {str(exc)[:300]}", err=True)
            sys.exit(2)

    return wrapper


def _show_result(result: RunResult) -> None:
    click.echo(f"thread {result.thread_id}: {result.status} ({result.reason_code}), "
               f"${result.cost_usd:.6f}, {result.iterations} model call(s)")
    if result.status == "paused" and result.approval:
        action = result.approval["action_requests"][0]
        click.echo(f"  waiting for approval: {action['name']} {json.dumps(action['args'])}")
        click.echo(f"  approve with: safe-agent resume {result.thread_id} --approve --as <approver>")
    if result.answer:
        click.echo(f"  {result.answer}")
    for warning in result.warnings:
        click.echo(f"  warning: {warning}")


json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
home_option = click.option("--home", envvar="SAFE_AGENT_HOME", default=None, help="Data folder (default ./var).")


@click.group()
@click.version_option(package_name="safe-agent")
def cli() -> None:
    """Safe Agent: run a guarded support agent, approve its risky actions, read its audit log."""


@cli.command()
@click.argument("message")
@click.option("--user", "user_id", required=True, help="Who the agent acts for.")
@click.option("--role", type=click.Choice(["read", "write", "admin"]), required=True, help="The caller's role.")
@click.option("--thread", "thread_id", default=None, help="Continue this thread (default: a new one).")
@click.option("--tenant", default=None, help="Tenant, for the audit log.")
@home_option
@json_option
@_guard
def run(message: str, user_id: str, role: str, thread_id: str | None, tenant: str | None, home: str | None,
        as_json: bool) -> None:
    """Run one request (Python: `SafeAgent.run`).

    Example: safe-agent run "Refund $25 on order 1001" --user u-123 --role write
    """
    with SafeAgent.open(home) as agent:
        result = agent.run(message, user_id=user_id, role=role, thread_id=thread_id, tenant=tenant)
    _emit(as_json, result.to_dict(), lambda: _show_result(result))


@cli.command()
@home_option
@json_option
@_guard
def pending(home: str | None, as_json: bool) -> None:
    """List threads paused at an approval (Python: `SafeAgent.pending`).

    Example: safe-agent pending --json
    """
    with SafeAgent.open(home) as agent:
        items = agent.pending()

    def human() -> None:
        if not items:
            click.echo("no pending approvals")
        for p in items:
            if p.kind == "reconcile":
                click.echo(f"{p.thread_id}  IN DOUBT {p.request['tool_name']}: reconcile with "
                           f"`safe-agent reconcile {p.thread_id} --done|--not-done --as <operator>`")
                continue
            action = p.request["action_requests"][0]
            left = "expired" if (p.time_left_s or 0) <= 0 else f"{p.time_left_s / 3600:.1f}h left"
            click.echo(f"{p.thread_id}  {action['name']} {json.dumps(action['args'])}  tier={p.request.get('tier')} "
                       f"requested_by={p.request.get('requested_by')} approvals={len(p.request.get('approvals', []))}"
                       f"/{p.request.get('quorum', 1)} {left}")

    _emit(as_json, [p.to_dict() for p in items], human)


@cli.command()
@click.argument("thread_id")
@click.option("--approve", "kind", flag_value="approve", help="Run the call as proposed.")
@click.option("--reject", "kind", flag_value="reject", help="Do not run the call.")
@click.option("--edit", "edit_args", default=None, help="Run with these JSON arguments instead.")
@click.option("--message", default="", help="Why (sent to the model on reject).")
@click.option("--as", "approver_id", required=True, help="The approver's user id.")
@click.option("--role", "approver_role", type=click.Choice(["read", "write", "admin"]), default="admin",
              show_default=True, help="The approver's role.")
@click.option("--interrupt", "interrupt_id", default=None, help="Only answer this interrupt id (as shown by pending).")
@home_option
@json_option
@_guard
def resume(thread_id: str, kind: str | None, edit_args: str | None, message: str, approver_id: str,
           approver_role: str, interrupt_id: str | None, home: str | None, as_json: bool) -> None:
    """Answer a paused approval (Python: `SafeAgent.resume`).

    Example: safe-agent resume 3f2a... --approve --as approver-7
    """
    with SafeAgent.open(home) as agent:
        decision = _decision(agent, thread_id, kind, edit_args, message)
        result = agent.resume(thread_id, decision, approver_id=approver_id, approver_role=approver_role,
                              interrupt_id=interrupt_id)
    _emit(as_json, result.to_dict(), lambda: _show_result(result))


def _decision(agent: SafeAgent, thread_id: str, kind: str | None, edit_args: str | None, message: str) -> dict:
    if (kind is None) == (edit_args is None):
        raise click.UsageError("give exactly one of --approve, --reject or --edit JSON")
    if kind == "approve":
        return {"decisions": [{"type": "approve"}]}
    if kind == "reject":
        return {"decisions": [{"type": "reject", "message": message}]}
    try:
        args = json.loads(edit_args or "")
    except ValueError as exc:
        raise click.BadParameter(f"--edit is not valid JSON: {exc.msg}") from None
    pending_call = agent.pending_for(thread_id)
    name = pending_call.request["action_requests"][0]["name"] if pending_call else ""
    return {"decisions": [{"type": "edit", "edited_action": {"name": name, "args": args}}]}


@cli.command()
@click.option("--thread", "thread_id", default=None, help="Only this thread.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True, help="Last N rows.")
@click.option("--verify", is_flag=True, help="Check the hash chain instead of listing rows.")
@home_option
@json_option
@_guard
def audit(thread_id: str | None, limit: int, verify: bool, home: str | None, as_json: bool) -> None:
    """Print the audit trail, or verify its hash chain (Python: `SafeAgent.audit`).

    Example: safe-agent audit --thread 3f2a... --limit 20
    """
    with SafeAgent.open(home) as agent:
        if verify:
            check = agent.services.audit.verify()
            _emit(as_json, dataclasses.asdict(check),
                lambda: click.echo(f"audit log {'verifies' if check.ok else 'ALTERED'}: {check.rows} rows"
                                   + ("" if check.ok else f", first bad row {check.first_bad_seq}: {check.problem}")))
            if not check.ok:
                sys.exit(1)
            return
        rows = agent.audit(thread_id=thread_id, limit=limit)
    _emit(as_json, rows, lambda: [click.echo(format_audit_row(r)) for r in rows])


def format_audit_row(row: dict[str, Any]) -> str:
    """Render one audit row on one line."""
    bits = [row["timestamp"][11:23], f"{row['node']:<15}", f"{row['kind']:<18}", f"{row.get('reason_code') or '':<22}",
            row.get("user_id") or ""]
    if row.get("tool_name"):
        bits.append(f"tool={row['tool_name']}")
    if row.get("approver_id"):
        bits.append(f"approver={row['approver_id']}")
    if row.get("cost_usd"):
        bits.append(f"${row['cost_usd']:.6f}")
    return "  ".join(bits)


@cli.command()
@click.option("--user", "user_id", default=None, help="Also report this user's spend today (UTC).")
@click.option("--tenant", default=None, help="Also report this tenant's spend today (UTC).")
@home_option
@json_option
@_guard
def spend(user_id: str | None, tenant: str | None, home: str | None, as_json: bool) -> None:
    """Show spend and remaining budget per user, tenant and globally (Python: `SafeAgent.spend`).

    Example: safe-agent spend --user u-123 --tenant acme --json
    """
    with SafeAgent.open(home) as agent:
        report = agent.spend(user_id=user_id, tenant=tenant)

    def human() -> None:
        for line in report.lines:
            cap = "no limit" if line.limit_usd is None else f"limit ${line.limit_usd:.2f}, ${line.remaining_usd:.6f} left"
            click.echo(f"{line.scope:<7} {line.subject:<16} {line.window:<10} spent ${line.spent_usd:.6f}  "
                       f"reserved ${line.reserved_usd:.6f}  {cap}")

    _emit(as_json, report.to_dict(), human)


@cli.command()
@_guard
def graph() -> None:
    """Print the graph as a Mermaid diagram (Python: `SafeAgent.graph.get_graph().draw_mermaid()`).

    Example: safe-agent graph > graph.mmd
    """
    from graph.studio import graph as studio_graph

    click.echo(studio_graph.get_graph().draw_mermaid().rstrip())


@cli.command()
@home_option
@_guard
def demo(home: str | None) -> None:
    """Run the narrated offline demo of every safety node (Python: `safe_agent.demo.run_demo`).

    Example: safe-agent demo
    """
    from safe_agent.demo import run_demo

    run_demo(home)


def main() -> None:
    """Entry point of the console script."""
    cli(prog_name="safe-agent")


from safe_agent import cli_operator  # noqa: E402,F401 - registers the operator commands on `cli`
