"""`safe-agent health` and `safe-agent breakers`: can the home serve, and the operator's brakes.

`health` mirrors `safe_agent.health.health_report` and tells scripts the verdict by exit code
(0 ok, 3 degraded, 4 down; 1 stays "a known error", 2 "internal error", as for every
command). `breakers list` reads the shared breakers; `breakers reset` and `breakers force-open`
change one for every process and need an admin's key, like the kill-switch commands; each is
an operator row in the audit log naming the admin and the phase before and after. The Python
equivalents are `reset_breaker` and `force_open_breaker` below (the facade is full).
"""

from __future__ import annotations

import dataclasses
import re
import sys
import time
from typing import TYPE_CHECKING, Any

import click

from safe_agent.cli import _emit, _guard, cli, home_option, json_option, open_agent
from safe_agent.cli_identity import identity_options
from safe_agent.cli_operator import _operator
from safe_agent.errors import Forbidden, InvalidInput

if TYPE_CHECKING:  # imported where used: `--help` loads neither LangGraph nor the stores
    from safe_agent.facade import SafeAgent
    from safe_agent.health import HealthReport
    from safe_agent.policies.breaker import BreakerState

EXIT_OK, EXIT_DEGRADED, EXIT_DOWN = 0, 3, 4
EXIT_CODES = {"ok": EXIT_OK, "degraded": EXIT_DEGRADED, "down": EXIT_DOWN}
_NAME = re.compile(r"(model|tool):[\w.:/@+-]{1,120}")


def _phase(state: BreakerState) -> str:
    from safe_agent.policies.breaker import BreakerPhase

    return state.phase.value if isinstance(state.phase, BreakerPhase) else str(state.phase)


def _state(state: BreakerState) -> dict[str, Any]:
    return {
        "phase": _phase(state),
        "consecutive_failures": state.consecutive_failures,
        "opened_at": state.opened_at,
        "probe_started_at": state.probe_started_at,
    }


def _admin_only(operator_role: str, what: str) -> None:
    if operator_role != "admin":
        raise Forbidden(f"{what} needs the admin role")


def reset_breaker(
    agent: SafeAgent, name: str, *, operator_id: str, operator_role: str, reason: str = ""
) -> dict[str, Any]:
    """Close breaker `name` for every process (admin) and audit it with the phase it had.

    Python counterpart of `safe-agent breakers reset`; the audit row (kind "breaker_reset")
    is written after the change, as for kill switches, so it names the real before-phase.
    """
    from safe_agent.policies.breaker import BreakerState

    _admin_only(operator_role, "breakers reset")
    transitions: list[Any] = []
    before = agent.services.breakers.reset(
        name, now=agent.services.clock(), transitions=transitions
    )
    detail = f"{_phase(before)} -> closed" + (f": {reason.strip()[:500]}" if reason.strip() else "")
    agent.record_operator_action(
        "breaker_reset", name, operator_id, detail, reason_code="breaker_reset"
    )
    return {
        "name": name,
        "before": _state(before),
        "after": _state(BreakerState(name=name)),
        "transitions": [dataclasses.asdict(t) for t in transitions],
        "operator": operator_id,
    }


def force_open_breaker(
    agent: SafeAgent, name: str, *, operator_id: str, operator_role: str, reason: str
) -> dict[str, Any]:
    """Trip breaker `name` now for every process (admin); it cools down and probes as usual.

    Only `model:...` names and `tool:NAME` of a loaded (or already stored) tool are accepted,
    so a typo cannot create a breaker that guards nothing. To hold a dependency off until a
    person revives it, use a kill switch instead (`SafeAgent.switch_off`, e.g. `model:NAME`).
    """
    _admin_only(operator_role, "breakers force-open")
    if not reason.strip():
        raise InvalidInput("say why the breaker is forced open (--reason)")
    stored = {s.name for s in agent.services.breakers.all()}
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            f"breaker names look like model:PROVIDER or tool:NAME, not {name[:60]!r}"
        )
    if name.startswith("tool:") and name not in stored and name[5:] not in agent.services.tools:
        raise InvalidInput(
            f"no tool {name[5:]!r} is loaded: known tools are "
            f"{', '.join(sorted(agent.services.tools)) or 'none'}"
        )
    transitions: list[Any] = []
    before, after = agent.services.breakers.force_open(
        name, now=agent.services.clock(), transitions=transitions
    )
    agent.record_operator_action(
        "breaker_force_open",
        name,
        operator_id,
        f"{_phase(before)} -> {_phase(after)}: {reason.strip()[:500]}",
        reason_code="breaker_force_open",
    )
    return {
        "name": name,
        "before": _state(before),
        "after": _state(after),
        "transitions": [dataclasses.asdict(t) for t in transitions],
        "operator": operator_id,
    }


def _show_report(report: HealthReport) -> None:
    click.echo(f"{report.status}: {report.home} ({report.duration_ms} ms)")
    for check in report.checks:
        click.echo(f"  {check.status:<9} {check.name:<26} {check.detail}")


@cli.command()
@home_option
@click.option(
    "--min-free-mb",
    type=float,
    default=None,
    help="Down below this many MB free (default $SAFE_AGENT_HEALTH_MIN_FREE_MB or 100).",
)
@json_option
@_guard
def health(home: str | None, min_free_mb: float | None, as_json: bool) -> None:
    """Check stores, disk, breakers, switches, audit anchor; exit 0 ok, 3 degraded, 4 down.

    Python: `safe_agent.health.health_report`. Needs no key: it reads the files it is given.

    Example: safe-agent health --json > health.json; echo "exit $?"
    """
    from safe_agent.health import health_report

    report = health_report(home, min_free_mb=min_free_mb)
    _emit(as_json, report.to_dict(), lambda: _show_report(report))
    sys.exit(EXIT_CODES[report.status])


@cli.group(invoke_without_command=True)
@click.pass_context
def breakers(ctx: click.Context) -> None:
    """List the shared circuit breakers (the default) or reset / force one open (admin).

    Example: safe-agent breakers list --json
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_)


def _rows(home: str | None) -> list[dict[str, Any]]:
    """Every stored breaker with its retry time; a home without a safety store has none."""
    from safe_agent.settings import data_paths, load_config
    from safe_agent.stores.breakers import BreakerStore

    safety = data_paths(home).safety
    if not safety.exists():
        return []
    cooldown = float(load_config().breaker.cooldown_s)
    now = time.time()
    rows = []
    for state in BreakerStore(safety).all():
        row = {"name": state.name, **_state(state)}
        if row["phase"] == "open" and isinstance(state.opened_at, int | float):
            row["retry_in_s"] = round(max(0.0, state.opened_at + cooldown - now), 1)
        rows.append(row)
    return rows


@breakers.command("list")
@home_option
@json_option
@_guard
def list_(home: str | None = None, as_json: bool = False) -> None:
    """List every breaker used so far: phase, failures, next probe (Python: `BreakerStore.all`).

    Example: safe-agent breakers list --json
    """
    rows = _rows(home)

    def human() -> None:
        for r in rows:
            retry = f", probe in {r['retry_in_s']} s" if "retry_in_s" in r else ""
            click.echo(f"{r['name']}  {r['phase']}  failures={r['consecutive_failures']}{retry}")
        if not rows:
            click.echo("no breaker has been used yet (all closed)")

    _emit(as_json, rows, human)


def _show_change(out: dict[str, Any]) -> None:
    click.echo(
        f"{out['name']}: {out['before']['phase']} -> {out['after']['phase']} "
        f"(by {out['operator']}, audited)"
    )


@breakers.command("reset")
@click.argument("name")
@click.option("--reason", default="", help="Why (kept in the audit row).")
@identity_options
@home_option
@json_option
@_guard
def reset(
    name: str, reason: str, key_file: str | None, as_id: str | None, home: str | None, as_json: bool
) -> None:
    """Close a breaker for every process; admin only, audited (Python: `reset_breaker`).

    Example: safe-agent breakers reset model:openai --reason "provider recovered"
    """
    me = _operator(home, key_file, as_id, "breakers reset")
    with open_agent(home) as agent:
        out = reset_breaker(agent, name, operator_id=me.id, operator_role=me.role, reason=reason)
    _emit(as_json, out, lambda: _show_change(out))


@breakers.command("force-open")
@click.argument("name")
@click.option("--reason", required=True, help="Why (kept in the audit row).")
@identity_options
@home_option
@json_option
@_guard
def force_open(
    name: str, reason: str, key_file: str | None, as_id: str | None, home: str | None, as_json: bool
) -> None:
    """Trip a breaker now for every process; it probes after one cool-down. Admin only, audited.

    Python: `force_open_breaker`. To hold a dependency off, use `safe-agent switch-off`.

    Example: safe-agent breakers force-open tool:issue_refund --reason "PSP incident"
    """
    me = _operator(home, key_file, as_id, "breakers force-open")
    with open_agent(home) as agent:
        out = force_open_breaker(
            agent, name, operator_id=me.id, operator_role=me.role, reason=reason
        )
    _emit(as_json, out, lambda: _show_change(out))
