"""Who the CLI acts as: the principal whose API key it was given, never a flag's claim.

Every command that acts as someone asks `resolve_principal` once. The key comes from
`--key-file PATH` (first line) or `$SAFE_AGENT_API_KEY`, and is checked against the principal
directory of the home; the role, tenant and groups come from that record. There is no default
role and no `--role`. `--as ID` alone is accepted only where the operator's config declares the
home single-operator (`[identity] single_operator = true`): the record is then looked up by id,
so its role is still the directory's. A key never appears on the command line, where `ps` and
shell history would show it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from safe_agent.errors import Forbidden, IdentityMismatch, Unauthenticated
from safe_agent.policies.identity import canonical_id, same_person
from safe_agent.policies.verdict import Role

if TYPE_CHECKING:  # imported by `resolve_principal`: `--help` needs neither SQLite nor pydantic
    from safe_agent.stores.principals import PrincipalRecord

KEY_ENV = "SAFE_AGENT_API_KEY"
_MAX_KEY_FILE_BYTES = 4096
_HOW = f"set {KEY_ENV} or pass --key-file (or --as in a single-operator home)"

F = TypeVar("F", bound=Callable[..., object])


def identity_options(fn: F) -> F:
    """Add `--key-file` and `--as` to a command; `resolve_principal` turns them into a principal."""
    fn = click.option(
        "--as",
        "as_id",
        default=None,
        help="Principal id: must match the key; alone only in a single-operator home.",
    )(fn)
    return click.option(
        "--key-file",
        default=None,
        help=f"File whose first line is your API key (default: ${KEY_ENV}).",
    )(fn)


def _read_key_file(key_file: str) -> str:
    try:
        with Path(key_file).open("rb") as handle:
            head = handle.read(_MAX_KEY_FILE_BYTES)
    except OSError as exc:
        raise Unauthenticated(f"cannot read key file {key_file}: {exc.strerror or exc}") from None
    lines = head.decode("utf-8", errors="replace").splitlines()
    return lines[0].strip() if lines else ""


def resolve_principal(
    home: str | None,
    key_file: str | None,
    as_id: str | None,
) -> PrincipalRecord:
    """Return the active principal the CLI acts as, or raise `Unauthenticated`.

    Args:
        home: The data folder whose principal directory is asked.
        key_file: A file holding the API key (takes precedence over the environment).
        as_id: The id the caller claims; with a key it must name the key's principal.
    """
    from safe_agent.settings import data_paths, load_config
    from safe_agent.stores.principals import PrincipalDirectory

    key = _read_key_file(key_file) if key_file else os.environ.get(KEY_ENV, "").strip()
    directory = PrincipalDirectory(data_paths(home).principals)
    if key:
        record = directory.authenticate(key)
        if record is None:
            raise Unauthenticated("the API key is not valid (unknown, revoked or rotated)")
        if as_id is not None and not same_person(as_id, record.id):
            shown = canonical_id(as_id) or repr(as_id[:40])
            raise IdentityMismatch(f"the key belongs to {record.id}, not {shown}")
        return record
    if as_id is None:
        raise Unauthenticated(_HOW)
    if not load_config().identity.single_operator:
        raise Unauthenticated(f"--as without a key needs [identity] single_operator = true; {_HOW}")
    record = directory.get(as_id)
    if record is None:
        raise Unauthenticated(f"no principal {as_id[:40]!r} in this home's directory")
    if record.status != "active":
        raise Unauthenticated(f"principal {record.id} is revoked")
    return record


def require_admin(record: PrincipalRecord, what: str) -> None:
    """Refuse an operator command to anyone but an admin."""
    if not Role(record.role).at_least(Role.ADMIN):
        raise Forbidden(f"{what} needs the admin role; {record.id} has {record.role}")
