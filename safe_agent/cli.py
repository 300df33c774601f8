"""The `safe-agent` command: a thin mirror of `SafeAgent` (run, pending, resume, graph, demo).

Every command takes `--json` for scripts. Known errors and usage errors print one line and exit
1; an unexpected error prints one line and exits 2. Never a traceback. A command that acts as
someone acts as the principal of an API key (`safe_agent.cli_identity`); no flag supplies a role.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import TYPE_CHECKING, Any

import click

from safe_agent.cli_identity import identity_options, resolve_principal
from safe_agent.errors import SafeAgentError
from safe_agent.policies.identity import ROLES, same_person
from safe_agent.policies.verdict import Role

if TYPE_CHECKING:  # the facade pulls in LangGraph (seconds): commands import it when they run
    from safe_agent.facade import SafeAgent
    from safe_agent.results import PendingApproval
    from safe_agent.stores.principals import PrincipalRecord


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
            from safe_agent.stores.principals import PrincipalError  # loaded by then if raised

            if isinstance(exc, PrincipalError):
                raise click.ClickException(f"{exc.reason_code}: {exc}") from None
            click.echo(f"Error: internal error: {type(exc).__name__}: {str(exc)[:300]}", err=True)
            sys.exit(2)

    return wrapper


def open_agent(home: str | None) -> SafeAgent:
    """`SafeAgent.open(home)`, importing the facade (LangGraph, the graph) only when it runs."""
    from safe_agent.facade import SafeAgent

    return SafeAgent.open(home)


json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
home_option = click.option(
    "--home", envvar="SAFE_AGENT_HOME", default=None, help="Data folder (default ./var)."
)


@contextmanager
def _one_line_usage() -> Iterator[None]:
    """Turn a click usage error (three lines, exit 2) into the CLI's known-error shape."""
    try:
        yield
    except click.exceptions.NoArgsIsHelpError:
        raise  # a group named without a subcommand: its help, not an error
    except click.UsageError as exc:
        raise click.ClickException(" ".join(exc.format_message().split())) from None


class OneLineGroup(click.Group):
    """The root group: every usage error, in any subcommand or group below it (they are parsed
    and invoked inside this group's `invoke`), is one line `Error: ...` and exit 1."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        with _one_line_usage():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        with _one_line_usage():
            return super().invoke(ctx)


@click.group(cls=OneLineGroup)
@click.version_option(package_name="safe-agent")
def cli() -> None:
    """Safe Agent: run a guarded support agent, approve its risky actions, read its audit log."""


@cli.command()
@click.argument("message")
@click.option("--thread", "thread_id", default=None, help="Continue this thread (default: new).")
@identity_options
@home_option
@json_option
@_guard
def run(
    message: str,
    thread_id: str | None,
    key_file: str | None,
    as_id: str | None,
    home: str | None,
    as_json: bool,
) -> None:
    """Run one request as the key's principal (Python: `SafeAgent.run`).

    Example: SAFE_AGENT_API_KEY=sa_... safe-agent run "Refund $25 on order 1001"
    """
    from safe_agent.cli_display import result_payload, show_result

    me = resolve_principal(home, key_file, as_id)
    with open_agent(home) as agent:
        result = agent.run(
            message,
            user_id=me.id,
            role=me.role,
            tenant=me.tenant,
            thread_id=thread_id,
        )
        shown = result_payload(result, agent.services.vault)  # masked: the graph used real values
    _emit(as_json, shown, lambda: show_result(shown))


def _may_see(me: PrincipalRecord, item: PendingApproval) -> bool:
    """Admins see every pause; others the requests they made or have the role to approve."""
    if me.role == Role.ADMIN.value:
        return True
    if item.kind != "approval":  # in-doubt calls are settled by operators (admins) only
        return False
    if same_person(item.request.get("requested_by"), me.id):
        return True
    needed = str(item.request.get("approver_role", Role.ADMIN.value))
    return needed in ROLES and Role(me.role).at_least(Role(needed))


@cli.command()
@identity_options
@home_option
@json_option
@_guard
def pending(key_file: str | None, as_id: str | None, home: str | None, as_json: bool) -> None:
    """List the paused threads you may see: all for an admin (Python: `SafeAgent.pending`).

    Example: safe-agent pending --json
    """
    from safe_agent.cli_display import pending_payload, show_pending

    me = resolve_principal(home, key_file, as_id)
    with open_agent(home) as agent:
        items = [p for p in agent.pending() if _may_see(me, p)]
        shown = pending_payload(items, agent.services.vault)  # masked (policies.display)
    _emit(as_json, shown, lambda: show_pending(shown))


@cli.command()
@click.argument("thread_id")
@click.option("--approve", "kind", flag_value="approve", help="Run the call as proposed.")
@click.option("--reject", "kind", flag_value="reject", help="Do not run the call.")
@click.option(
    "--respond",
    "kind",
    flag_value="respond",
    help="Do not run the call; the model reads --message as its result.",
)
@click.option("--edit", "edit_args", default=None, help="Run with these JSON arguments instead.")
@click.option("--message", default="", help="Why (reject), or the reply the model reads (respond).")
@click.option(
    "--interrupt", "interrupt_id", default=None, help="Only answer this interrupt id (see pending)."
)
@identity_options
@home_option
@json_option
@_guard
def resume(
    thread_id: str,
    kind: str | None,
    edit_args: str | None,
    message: str,
    interrupt_id: str | None,
    key_file: str | None,
    as_id: str | None,
    home: str | None,
    as_json: bool,
) -> None:
    """Answer a paused approval as the key's principal (Python: `SafeAgent.resume`).

    Example: SAFE_AGENT_API_KEY=sa_... safe-agent resume 3f2a... --approve
    """
    from safe_agent.cli_display import result_payload, show_result

    me = resolve_principal(home, key_file, as_id)
    with open_agent(home) as agent:
        decision = _decision(agent, thread_id, kind, edit_args, message)
        result = agent.resume(
            thread_id,
            decision,
            approver_id=me.id,
            approver_role=me.role,
            approver_groups=me.groups,
            interrupt_id=interrupt_id,
        )
        shown = result_payload(result, agent.services.vault)
    _emit(as_json, shown, lambda: show_result(shown))


def _decision(
    agent: SafeAgent, thread_id: str, kind: str | None, edit_args: str | None, message: str
) -> dict:
    if (kind is None) == (edit_args is None):
        raise click.UsageError("give exactly one of --approve, --reject, --respond or --edit JSON")
    pending_call = agent.pending_for(thread_id)
    actions = (pending_call.request.get("action_requests") or [{}]) if pending_call else [{}]
    if kind == "approve":  # one decision per action shown by `pending`: all of them
        return {"decisions": [{"type": "approve"} for _ in actions]}
    if kind == "reject":
        return {"decisions": [{"type": "reject", "message": message} for _ in actions]}
    if kind == "respond":  # LangChain's HITL `respond`: the call is not run, the model reads this
        if not message.strip():
            raise click.UsageError("--respond needs --message TEXT: the reply the model reads")
        return {"decisions": [{"type": "respond", "message": message} for _ in actions]}
    if len(actions) > 1:
        raise click.UsageError(f"this approval lists {len(actions)} actions; --edit works on one")
    try:
        args = json.loads(edit_args or "")
    except ValueError as exc:
        raise click.BadParameter(f"--edit is not valid JSON: {exc.msg}") from None
    name = actions[0].get("name", "")
    return {"decisions": [{"type": "edit", "edited_action": {"name": name, "args": args}}]}


@cli.command()
@_guard
def graph() -> None:
    """Print the graph as a Mermaid diagram (Python: `SafeAgent.graph.get_graph().draw_mermaid()`).

    Example: safe-agent graph > graph.mmd
    """
    from safe_agent.graph.studio import graph as studio_graph

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


from safe_agent import (  # noqa: E402 - after `cli` exists: each module registers its commands
    cli_keys,  # noqa: E402,F401 - registers the `keys` group on `cli`
    cli_operator,  # noqa: E402,F401 - registers the operator commands on `cli`
    cli_principals,  # noqa: E402,F401 - registers the `principals` group on `cli`
    cli_reports,  # noqa: E402,F401 - registers `audit` and `spend` on `cli`
    cli_resilience,  # noqa: E402,F401 - registers `health`, `breakers` on `cli`
    cli_tools,  # noqa: E402,F401 - registers `tools` on `cli`
)
