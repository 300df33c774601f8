"""`safe-agent audit`: read, verify, export, anchor, anonymise and adopt the audit log; admin only.

`audit` lists rows (Python: `SafeAgent.audit`); `audit --verify [--anchor FILE]` checks every
hash, MAC and the anchors and never creates anything (a missing file is an error); the
subcommands act on the log as it is (`safe_agent.settings.open_audit(paths, config,
create=False)`, then the `AuditLog` method named in each help). Every failure is one line on
stderr and exit 1. `docs/audit.md` has the guarantees and their limits.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from safe_agent.cli import _emit, _guard, cli, home_option, json_option, open_agent
from safe_agent.cli_identity import identity_options, require_admin, resolve_principal

if TYPE_CHECKING:  # the stores load SQLite helpers, the facade LangGraph: imported where used
    from safe_agent.stores.audit import AuditLog, ChainCheck, Head


def format_audit_row(row: dict[str, Any]) -> str:
    """Render one audit row on one line."""
    bits = [
        row["timestamp"][11:23],
        f"{row['node'] or '':<15}",
        f"{row['kind'] or '':<18}",
        f"{row.get('reason_code') or '':<22}",
        row.get("user_id") or ("[anonymised]" if row.get("anonymised_at") else ""),
    ]
    if row.get("tool_name"):
        bits.append(f"tool={row['tool_name']}")
    if row.get("approver_id"):
        bits.append(f"approver={row['approver_id']}")
    if row.get("cost_usd"):
        bits.append(f"${row['cost_usd']:.6f}")
    return "  ".join(bits)


def _one_line(fn: Callable[..., None]) -> Callable[..., None]:
    """A missing or altered log is a known error: one line, exit 1.

    Used under `_guard`, which handles the rest.
    """

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            fn(*args, **kwargs)
        except Exception as exc:
            from safe_agent.stores.audit import AuditTampered  # loaded by then if it was raised

            if isinstance(exc, AuditTampered):
                raise click.ClickException(str(exc)) from None
            raise

    return wrapper


def _admin(home: str | None, key_file: str | None, as_id: str | None, what: str) -> str:
    me = resolve_principal(home, key_file, as_id)
    require_admin(me, what)
    return me.id


def _log(home: str | None) -> AuditLog:
    """The log as it is: nothing is created, whatever is missing is an error."""
    from safe_agent.settings import data_paths, load_config, open_audit

    return open_audit(data_paths(home), load_config(), create=False)


def _read_head(file: str) -> Head:
    from safe_agent.stores.audit import Head

    try:
        return Head.from_json(Path(file).read_text())
    except OSError as exc:
        raise click.ClickException(
            f"cannot read anchor file {file}: {exc.strerror or exc}"
        ) from None
    except ValueError as exc:
        raise click.ClickException(
            f"anchor file {file} is not an exported audit head: {str(exc)[:200]}"
        ) from None


def _summary(check: ChainCheck, exported: Head | None) -> str:
    notes = [
        f"{check.rows} rows",
        "every MAC checked" if check.keyed else "no key: MACs not checked",
    ]
    if check.anchored_seq is not None:
        notes.append(f"anchored at row {check.anchored_seq}")
    if check.legacy_rows:
        notes.append(f"{check.legacy_rows} adopted rows without a MAC")
    if check.anonymised_rows:
        notes.append(f"{check.anonymised_rows} rows anonymised by retention")
    if exported is not None:
        notes.append(f"holds the exported anchor of {exported.time} (row {exported.seq})")
    return "audit log verifies: " + ", ".join(notes)


def _verified(log: AuditLog, exported: Head | None, as_json: bool) -> ChainCheck:
    check = log.verify(exported=exported)
    _emit(
        as_json,
        dataclasses.asdict(check),
        lambda: click.echo(_summary(check, exported)) if check.ok else None,
    )
    if not check.ok:
        raise click.ClickException(f"audit log ALTERED: {check.problem}")
    return check


def _listed(home: str | None, thread_id: str | None, limit: int) -> list[dict[str, Any]]:
    """`SafeAgent.audit(thread_id=, limit=)` without compiling the graph: the rows of the audit
    store, each of a thread the checkpoint file no longer has marked `thread_lost`. Checkpoints
    kept in a database server are read by the facade, which knows how to reach them."""
    from safe_agent.database import resolve_url
    from safe_agent.settings import data_paths, load_config, open_audit

    if resolve_url() is not None:  # checkpoints on PostgreSQL: the facade's checkpointer reads them
        with open_agent(home) as agent:
            return agent.audit(thread_id=thread_id, limit=limit)
    paths = data_paths(home)
    rows = open_audit(paths, load_config()).records(thread_id=thread_id, limit=limit)
    threads = sorted({r["thread_id"] for r in rows if r.get("thread_id")})
    if threads:
        known = _checkpointed(paths.checkpoints, threads)
        for row in rows:
            if row.get("thread_id") and row["thread_id"] not in known:
                row["thread_lost"] = True
    return rows


def _checkpointed(file: Path, threads: list[str]) -> set[str]:
    """The threads among `threads` that have a checkpoint in `file` (read-only; none if absent)."""
    if not file.exists():
        return set()
    marks = ",".join("?" for _ in threads)
    query = f"SELECT DISTINCT thread_id FROM checkpoints WHERE thread_id IN ({marks})"
    from safe_agent.stores._sqlite import BUSY_TIMEOUT_MS

    uri = f"{file.resolve().as_uri()}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        return {t for (t,) in conn.execute(query, threads).fetchall()}
    except sqlite3.OperationalError:  # no checkpoint table yet: no thread has a checkpoint
        return set()
    finally:
        conn.close()


def _inherit(ctx: click.Context, **mine: Any) -> list[Any]:
    """Options given to `audit` itself apply to its subcommand unless the subcommand sets them."""
    parent = ctx.parent.params if ctx.parent is not None else {}
    return [mine[k] if mine[k] not in (None, False) else parent.get(k) for k in mine]


@cli.group(invoke_without_command=True)
@click.option("--thread", "thread_id", default=None, help="Only this thread.")
@click.option(
    "--limit", type=click.IntRange(1, 100_000), default=50, show_default=True, help="Last N rows."
)
@click.option(
    "--verify", is_flag=True, help="Check every hash, MAC and the anchor instead of listing rows."
)
@click.option(
    "--anchor",
    "anchor_file",
    default=None,
    help="With --verify: also check this exported anchor file.",
)
@identity_options
@home_option
@json_option
@click.pass_context
@_guard
@_one_line
def audit(
    ctx: click.Context,
    thread_id: str | None,
    limit: int,
    verify: bool,
    anchor_file: str | None,
    key_file: str | None,
    as_id: str | None,
    home: str | None,
    as_json: bool,
) -> None:
    """Print or verify the audit trail; admin only (Python: `SafeAgent.audit`, `AuditLog.verify`).

    Subcommands: export (JSON lines), anchor (a signed head for an auditor), retain (anonymise
    old rows), adopt (accept a legacy or re-created log). See `docs/audit.md`.

    Example: safe-agent audit --verify --anchor ~/auditor/head.json
    """
    if ctx.invoked_subcommand is not None:
        return
    _admin(home, key_file, as_id, "audit")
    if verify or anchor_file:
        _verified(_log(home), _read_head(anchor_file) if anchor_file else None, as_json)
        return
    rows = _listed(home, thread_id, limit)
    _emit(as_json, rows, lambda: [click.echo(format_audit_row(r)) for r in rows])


@audit.command("export")
@click.option(
    "--jsonl", is_flag=True, help="One JSON object per line (the only format, and the default)."
)
@click.option("--thread", "thread_id", default=None, help="Only this thread.")
@click.option(
    "--since", default=None, help="Only rows at or after this ISO 8601 time (UTC), e.g. 2026-11-01."
)
@identity_options
@home_option
@click.pass_context
@_guard
@_one_line
def export(
    ctx: click.Context,
    jsonl: bool,
    thread_id: str | None,
    since: str | None,
    key_file: str | None,
    as_id: str | None,
    home: str | None,
) -> None:
    """Print rows as JSON lines with the usual field names.

    Python: `AuditLog.iter_records` + `export_record`.

    Example: safe-agent audit export --jsonl --since 2026-11-01 > audit.jsonl
    """
    key_file, as_id, home = _inherit(ctx, key_file=key_file, as_id=as_id, home=home)
    from safe_agent.stores.audit_rows import export_record

    _admin(home, key_file, as_id, "audit export")
    for row in _log(home).iter_records(thread_id=thread_id, since=since):
        click.echo(json.dumps(export_record(row), default=str, ensure_ascii=False))


@audit.command("anchor")
@click.option(
    "--out", "out_file", required=True, help="Write the signed head here (refuses to overwrite)."
)
@identity_options
@home_option
@json_option
@click.pass_context
@_guard
@_one_line
def anchor(
    ctx: click.Context,
    out_file: str,
    key_file: str | None,
    as_id: str | None,
    home: str | None,
    as_json: bool,
) -> None:
    """Verify the log, then write its signed head for an auditor (Python: `AuditLog.signed_head`).

    Example: safe-agent audit anchor --out ~/auditor/head-2026-11-22.json
    """
    key_file, as_id, home, as_json = _inherit(
        ctx, key_file=key_file, as_id=as_id, home=home, as_json=as_json
    )
    me = _admin(home, key_file, as_id, "audit anchor")
    log = _log(home)
    _refuse_altered(log)
    head = log.signed_head(operator_id=me)
    try:
        with Path(out_file).open("x") as handle:
            handle.write(head.to_json() + "\n")
    except OSError as exc:
        raise click.ClickException(f"cannot write {out_file}: {exc.strerror or exc}") from None
    _emit(
        as_json,
        dataclasses.asdict(head),
        lambda: click.echo(
            f"anchored row {head.seq} (hash {head.hash[:16]}...) in {out_file}: "
            "keep it where this host cannot write"
        ),
    )


def _refuse_altered(log: AuditLog) -> None:
    """Refuse to act on a log that does not verify: what is wrong is evidence, to keep as it is."""
    check = log.verify()
    if not check.ok:
        raise click.ClickException(f"audit log ALTERED: {check.problem}")


@audit.command("retain")
@click.option(
    "--older-than",
    "days",
    type=click.IntRange(min=1),
    default=None,
    help="Anonymise rows older than this many days (default: [audit] retention_days).",
)
@identity_options
@home_option
@json_option
@click.pass_context
@_guard
@_one_line
def retain(
    ctx: click.Context,
    days: int | None,
    key_file: str | None,
    as_id: str | None,
    home: str | None,
    as_json: bool,
) -> None:
    """Anonymise personal fields of old rows; the chain still verifies (Python: `AuditLog.retain`).

    Example: safe-agent audit retain --older-than 365
    """
    key_file, as_id, home, as_json = _inherit(
        ctx, key_file=key_file, as_id=as_id, home=home, as_json=as_json
    )
    me = _admin(home, key_file, as_id, "audit retain")
    from safe_agent.settings import load_config

    days = days or load_config().audit.retention_days
    if days is None:
        raise click.UsageError("give --older-than DAYS (or set [audit] retention_days)")
    log = _log(home)
    _refuse_altered(log)
    before = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="microseconds")
    count = log.retain(before=before, operator_id=me)
    _refuse_altered(log)
    _emit(
        as_json,
        {"anonymised": count, "before": before},
        lambda: click.echo(
            f"anonymised {count} rows written before {before}; the log still verifies"
        ),
    )


@audit.command("adopt")
@identity_options
@home_option
@json_option
@click.pass_context
@_guard
@_one_line
def adopt(
    ctx: click.Context, key_file: str | None, as_id: str | None, home: str | None, as_json: bool
) -> None:
    """Accept a log written before audit keys, or whose anchor was lost, and anchor it.

    Refused while any hash or MAC fails. The adoption is an audit row naming the old anchor.

    Python: `AuditLog.adopt`.

    Example: safe-agent audit adopt
    """
    key_file, as_id, home, as_json = _inherit(
        ctx, key_file=key_file, as_id=as_id, home=home, as_json=as_json
    )
    me = _admin(home, key_file, as_id, "audit adopt")
    head = _log(home).adopt(operator_id=me)
    _emit(
        as_json,
        dataclasses.asdict(head),
        lambda: click.echo(
            f"adopted the log ({head.legacy_through} rows without a MAC); "
            f"anchored at row {head.seq}"
        ),
    )


from safe_agent import cli_audit_query  # noqa: E402,F401 - registers `audit query` (own module: size)
