"""How `run`, `resume` and `pending` print: every payload passes `policies.display` first.

The commands build their output (human lines or `--json`) only from the masked copy, so a card
number, API key or token in a request or an answer never reaches the terminal, while the tool,
amount, ids, recipients and the action digest an approver checks are printed as they are.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import click

from safe_agent.policies.display import VISIBLE_KINDS, mask_for_display
from safe_agent.results import PendingApproval, RunResult
from safe_agent.stores.vault import Vault


def result_payload(result: RunResult, vault: Vault | None = None) -> dict[str, Any]:
    """The masked dict `run --json` and `resume --json` print (see `_shown`)."""
    return _shown(vault, result.thread_id, result.to_dict())


def pending_payload(
    items: Iterable[PendingApproval], vault: Vault | None = None
) -> list[dict[str, Any]]:
    """The masked list `pending --json` prints (see `_shown`)."""
    return [_shown(vault, item.thread_id, item.to_dict()) for item in items]


def _shown(vault: Vault | None, thread_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """`data` fit for the terminal: the stand-ins of the kinds an approver must read (who a mail
    goes to) revealed from the thread's vault, then every masked kind hidden. Other stand-ins
    stay tokens: a card is never printed, not even from the vault."""
    if vault is not None:
        data = vault.reveal_kinds(thread_id, data, VISIBLE_KINDS)
    return mask_for_display(data)


def _digests(request: dict[str, Any]) -> list[str]:
    """The digest of each listed action: the request's own, then each later call of the batch."""
    batch = request.get("batch") if isinstance(request.get("batch"), list) else []
    return [str(request.get("action_digest") or "")] + [
        str(item.get("action_digest") or "") for item in batch if isinstance(item, dict)
    ]


def show_result(data: dict[str, Any]) -> None:
    """Print a masked run result (see `result_payload`) for a person."""
    click.echo(
        f"thread {data['thread_id']}: {data['status']} ({data['reason_code']}), "
        f"${data['cost_usd']:.6f}, {data['iterations']} model call(s)"
    )
    approval = data.get("approval") or {}
    if data["status"] == "paused" and approval:
        digests = _digests(approval)
        for index, action in enumerate(approval.get("action_requests") or []):
            click.echo(f"  waiting for approval: {action['name']} {json.dumps(action['args'])}")
            if index < len(digests) and digests[index]:
                click.echo(f"    digest {digests[index]}")
            if "Warning:" in action.get("description", ""):
                click.echo(f"    {action['description'].split('Warning: ', 1)[1]}")
        hint = f"safe-agent resume {data['thread_id']} --approve"
        click.echo(f"  approve with: {hint} (as the approver: their key, not yours)")
    if data.get("answer"):
        click.echo(f"  {data['answer']}")
    for warning in data.get("warnings") or []:
        click.echo(f"  warning: {warning}")


def show_pending(items: list[dict[str, Any]]) -> None:
    """Print masked pending requests (see `pending_payload`) for a person, one block each."""
    if not items:
        click.echo("no pending approvals")
    for p in items:
        thread = p["thread_id"]
        if p.get("kind", "approval") == "reconcile":
            click.echo(
                f"{thread}  IN DOUBT {p['tool_name']}: reconcile with "
                f"`safe-agent reconcile {thread} --done` or `--not-done` (admin key)"
            )
            continue
        (action, *more), digests = p["action_requests"], _digests(p)
        time_left = p.get("time_left_s") or 0
        left = "expired" if time_left <= 0 else f"{time_left / 3600:.1f}h left"
        click.echo(
            f"{thread}  {action['name']} {json.dumps(action['args'])}  tier={p.get('tier')} "
            f"requested_by={p.get('requested_by')} approvals={len(p.get('approvals', []))}"
            f"/{p.get('quorum', 1)} {left}"
        )
        click.echo(f"    digest {digests[0]}")
        for origin in p.get("provenance") or []:
            if origin.get("origin") in ("untrusted", "unsupported"):
                source = origin.get("source") or "no source"
                click.echo(f"    {origin['arg']}: {origin['origin']} ({source})")
        for index, other in enumerate(more, start=1):
            known = index < len(digests) and digests[index]
            digest = f" (digest {digests[index]})" if known else ""
            args = json.dumps(other["args"])
            click.echo(f"    and in the same review: {other['name']} {args}{digest}")
