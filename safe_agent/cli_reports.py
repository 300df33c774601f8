"""CLI reports: spend (admin, or your own) and the audit trail (admin only, `safe_agent.cli_audit`).

They register on the same `cli` group and follow its rules: one facade method each, `--json`,
one-line errors, and the caller is the principal of an API key (`safe_agent.cli_identity`).
"""

from __future__ import annotations

import time

import click

from safe_agent.cli import _emit, _guard, cli, home_option, json_option
from safe_agent.cli_audit import format_audit_row  # noqa: F401 - registers `audit`; demo imports the formatter here
from safe_agent.cli_identity import identity_options, resolve_principal
from safe_agent.errors import Forbidden
from safe_agent.policies.identity import canonical_id, same_person
from safe_agent.policies.verdict import Role


@cli.command()
@click.option("--user", "user_id", default=None, help="Also report this user's spend today (UTC).")
@click.option("--tenant", default=None, help="Also report this tenant's spend today (UTC).")
@identity_options
@home_option
@json_option
@_guard
def spend(
    user_id: str | None,
    tenant: str | None,
    key_file: str | None,
    as_id: str | None,
    home: str | None,
    as_json: bool,
) -> None:
    """Show spend and remaining budget per user, tenant and globally (Python: `SafeAgent.spend`).

    An admin may ask about anyone; others about themselves (and their own tenant) only.

    Example: safe-agent spend --user u-123 --tenant acme --json
    """
    me = resolve_principal(home, key_file, as_id)
    if me.role != Role.ADMIN.value:
        user_id = user_id or me.id
        other_tenant = tenant is not None and canonical_id(tenant) != me.tenant
        if not same_person(user_id, me.id) or other_tenant:
            raise Forbidden(f"{me.id} may see only their own spend; another user's needs admin")
    from safe_agent.settings import data_paths, load_config
    from safe_agent.stores.spend import SpendLedger

    # What `SafeAgent.spend` asks the ledger, without compiling the graph: a report reads one file.
    report = SpendLedger(data_paths(home).spend).report(
        user_id=user_id,
        tenant=tenant,
        now=time.time(),
        limits=load_config().budget,
    )

    def human() -> None:
        for line in report.lines:
            cap = (
                "no limit"
                if line.limit_usd is None
                else f"limit ${line.limit_usd:.2f}, ${line.remaining_usd:.6f} left"
            )
            click.echo(
                f"{line.scope:<7} {line.subject:<16} {line.window:<10} "
                f"spent ${line.spent_usd:.6f}  reserved ${line.reserved_usd:.6f}  {cap}"
            )

    _emit(as_json, report.to_dict(), human)
