"""`safe-agent principals ...`: the principal directory, from the command line.

Every change but `bootstrap` needs an admin's key; `bootstrap` creates the first admin of an
empty directory and needs none (whoever can write the data folder could do the same). Each
change is an operator row in the audit log. An API key is printed exactly once, by the command
that issues it (`add`, `bootstrap`, `rotate`), and is never written to the audit log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from safe_agent.cli import _emit, _guard, cli, home_option, json_option, open_agent
from safe_agent.cli_identity import identity_options, require_admin, resolve_principal
from safe_agent.policies.identity import ROLES

if TYPE_CHECKING:  # imported when a command runs: `--help` loads neither LangGraph nor SQLite
    from safe_agent.facade import SafeAgent
    from safe_agent.stores.principals import PrincipalDirectory, PrincipalRecord

_AUDIT_REASON = "principal_directory"


def _admin(home: str | None, key_file: str | None, as_id: str | None, what: str) -> PrincipalRecord:
    me = resolve_principal(home, key_file, as_id)
    require_admin(me, f"principals {what}")
    return me


def _directory(agent: SafeAgent) -> PrincipalDirectory:
    from safe_agent.stores.principals import PrincipalDirectory

    return PrincipalDirectory(agent.services.paths.principals)


def _describe(record: PrincipalRecord) -> str:
    """One audit-safe line about a principal: no key, only the public key id."""
    groups = ",".join(record.groups) or "-"
    tenant = record.tenant or "-"
    return f"role={record.role} tenant={tenant} groups={groups} key_id={record.key_id}"


def _show_key(as_json: bool, record: PrincipalRecord, api_key: str) -> None:
    """Print a freshly issued key: the only time it is ever shown."""
    payload = {**record.to_dict(), "api_key": api_key}

    def human() -> None:
        click.echo(f"{record.id} ({_describe(record)})")
        click.echo(f"api key (shown once, store it now): {api_key}")

    _emit(as_json, payload, human)


@cli.group()
def principals() -> None:
    """Manage who may act: add, list, revoke and rotate principals and their API keys.

    Example: safe-agent principals bootstrap ops-1 --json
    """


@principals.command()
@click.argument("principal_id")
@home_option
@json_option
@_guard
def bootstrap(principal_id: str, home: str | None, as_json: bool) -> None:
    """Create the first admin and its key; refused once the directory has any principal.

    Example: safe-agent principals bootstrap ops-1 --json
    """
    with open_agent(home) as agent:
        record, api_key = _directory(agent).bootstrap(principal_id, now=agent.services.clock())
        agent.record_operator_action(
            "principal_bootstrap",
            record.id,
            record.id,
            _describe(record),
            reason_code=_AUDIT_REASON,
        )
    _show_key(as_json, record, api_key)


@principals.command()
@click.argument("principal_id")
@click.option("--role", type=click.Choice(ROLES), required=True, help="Its role.")
@click.option("--tenant", default=None, help="Its tenant or organisation, if any.")
@click.option("--group", "groups", multiple=True, help="An approver group (repeatable).")
@identity_options
@home_option
@json_option
@_guard
def add(
    principal_id: str,
    role: str,
    tenant: str | None,
    groups: tuple[str, ...],
    key_file: str | None,
    as_id: str | None,
    home: str | None,
    as_json: bool,
) -> None:
    """Add a principal and print its API key once; admin only.

    Example: safe-agent principals add approver-7 --role admin --group finance --json
    """
    me = _admin(home, key_file, as_id, "add")
    with open_agent(home) as agent:
        record, api_key = _directory(agent).add(
            principal_id,
            role=role,
            tenant=tenant,
            groups=groups,
            now=agent.services.clock(),
        )
        agent.record_operator_action(
            "principal_add", record.id, me.id, _describe(record), reason_code=_AUDIT_REASON
        )
    _show_key(as_json, record, api_key)


@principals.command("list")
@identity_options
@home_option
@json_option
@_guard
def list_(key_file: str | None, as_id: str | None, home: str | None, as_json: bool) -> None:
    """List every principal (no keys: only their public key ids); admin only.

    Example: safe-agent principals list --json
    """
    _admin(home, key_file, as_id, "list")
    with open_agent(home) as agent:
        records = _directory(agent).list()

    def human() -> None:
        for r in records:
            click.echo(f"{r.id:<24} {r.status:<8} {_describe(r)}")
        if not records:
            click.echo("no principals: create the first with `safe-agent principals bootstrap ID`")

    _emit(as_json, [r.to_dict() for r in records], human)


@principals.command()
@click.argument("principal_id")
@identity_options
@home_option
@json_option
@_guard
def revoke(
    principal_id: str,
    key_file: str | None,
    as_id: str | None,
    home: str | None,
    as_json: bool,
) -> None:
    """Revoke a principal: its key stops working at once; admin only.

    Example: safe-agent principals revoke u-123
    """
    me = _admin(home, key_file, as_id, "revoke")
    with open_agent(home) as agent:
        directory = _directory(agent)
        revoked = directory.revoke(principal_id, now=agent.services.clock())
        record = directory.get(principal_id)
        assert record is not None  # revoke raised no_such_principal otherwise
        detail = "revoked" if revoked else "was already revoked"
        agent.record_operator_action(
            "principal_revoke", record.id, me.id, detail, reason_code=_AUDIT_REASON
        )
    _emit(
        as_json,
        {**record.to_dict(), "revoked": revoked},
        lambda: click.echo(f"{record.id} {detail}"),
    )


@principals.command()
@click.argument("principal_id")
@identity_options
@home_option
@json_option
@_guard
def rotate(
    principal_id: str,
    key_file: str | None,
    as_id: str | None,
    home: str | None,
    as_json: bool,
) -> None:
    """Issue a new API key for a principal (the old one stops working at once); admin only.

    Example: safe-agent principals rotate approver-7 --json
    """
    me = _admin(home, key_file, as_id, "rotate")
    with open_agent(home) as agent:
        directory = _directory(agent)
        api_key = directory.rotate(principal_id, now=agent.services.clock())
        record = directory.get(principal_id)
        assert record is not None  # rotate raised no_such_principal otherwise
        detail = f"new key_id={record.key_id}"
        agent.record_operator_action(
            "principal_rotate", record.id, me.id, detail, reason_code=_AUDIT_REASON
        )
    _show_key(as_json, record, api_key)
