"""`safe-agent audit query`: filtered audit rows, costs, denials and approvals; admin only.

Its own module because `cli_audit` is at its size bound; `cli_audit` imports this one last so
the subcommand is registered on the `audit` group. Python: `SafeAgent.audit_query`
(`safe_agent.audit_queries`). The log is only read (`mode=ro`); the store and pydantic are
imported when the command runs, so `safe-agent --help` stays light.
"""

from __future__ import annotations

import click

from safe_agent.cli import _emit, _guard, home_option, json_option
from safe_agent.cli_audit import _admin, _inherit, _one_line, audit
from safe_agent.cli_identity import identity_options


@audit.command("query")
@click.option("--thread", "thread_id", default=None, help="Only this thread.")
@click.option("--user", "user_id", default=None, help="Only this user (requester for approvals).")
@click.option("--tool", default=None, help="Only this tool.")
@click.option("--node", default=None, help="Only this node (authorize, approval, reason, ...).")
@click.option("--reason", "reason_code", default=None, help="Only this reason code.")
@click.option("--decision", default=None, help="Only this decision (allow, deny, halted, ...).")
@click.option("--success/--failure", default=None, help="Only rows that succeeded / failed.")
@click.option("--since", default=None, help="At or after this time (epoch or ISO-8601, UTC).")
@click.option("--until", default=None, help="Before this time (epoch or ISO-8601, UTC).")
@click.option(
    "--report",
    type=click.Choice(["rows", "costs", "denied", "approvals"]),
    default="rows",
    show_default=True,
    help="rows; costs by user/tool/day; denied and halted; approvals with wait.",
)
@click.option("--limit", type=int, default=None, help="Only the last N rows.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV with a header row.")
@identity_options
@home_option
@json_option
@click.pass_context
@_guard
@_one_line
def query(
    ctx: click.Context,
    as_csv: bool,
    key_file: str | None,
    as_id: str | None,
    home: str | None,
    as_json: bool,
    **filters: object,
) -> None:
    """Query the audit log (Python: `SafeAgent.audit_query`). See `docs/audit.md`.

    Example: safe-agent audit query --report denied --since 2026-11-01 --csv
    """
    key_file, as_id, home, as_json = _inherit(
        ctx, key_file=key_file, as_id=as_id, home=home, as_json=as_json
    )
    if as_json and as_csv:
        raise click.UsageError("give --json or --csv, not both")
    _admin(home, key_file, as_id, "audit query")
    from safe_agent import audit_queries
    from safe_agent.settings import data_paths

    result = audit_queries.run(data_paths(home).audit, filters)
    if as_csv:
        click.echo(audit_queries.render_csv(result), nl=False)
        return
    _emit(as_json, result, lambda: click.echo(audit_queries.render_text(result)))
