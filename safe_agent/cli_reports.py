"""Reports of `safe-agent`: the audit trail (admin only) and spend (admin, or your own).

They register on the same `cli` group and follow its rules: one facade method each, `--json`,
one-line errors, and the caller is the principal of an API key (`safe_agent.cli_identity`).
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import click

from policies.identity import canonical_id, same_person
from policies.verdict import Role
from safe_agent.cli import _emit, _guard, cli, home_option, json_option
from safe_agent.cli_identity import identity_options, require_admin, resolve_principal
from safe_agent.errors import Forbidden
from safe_agent.facade import SafeAgent


@cli.command()
@click.option("--thread", "thread_id", default=None, help="Only this thread.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True, help="Last N rows.")
@click.option("--verify", is_flag=True, help="Check the hash chain instead of listing rows.")
@identity_options
@home_option
@json_option
@_guard
def audit(
    thread_id: str | None,
    limit: int,
    verify: bool,
    key_file: str | None,
    as_id: str | None,
    home: str | None,
    as_json: bool,
) -> None:
    """Print the audit trail, or verify its hash chain; admin only (Python: `SafeAgent.audit`).

    Example: safe-agent audit --thread 3f2a... --limit 20
    """
    require_admin(resolve_principal(home, key_file, as_id), "audit")
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
    with SafeAgent.open(home) as agent:
        report = agent.spend(user_id=user_id, tenant=tenant)

    def human() -> None:
        for line in report.lines:
            cap = "no limit" if line.limit_usd is None else f"limit ${line.limit_usd:.2f}, ${line.remaining_usd:.6f} left"
            click.echo(f"{line.scope:<7} {line.subject:<16} {line.window:<10} spent ${line.spent_usd:.6f}  "
                       f"reserved ${line.reserved_usd:.6f}  {cap}")

    _emit(as_json, report.to_dict(), human)
