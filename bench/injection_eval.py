"""`python -m bench.injection_eval`: what poisoned content achieves against each layer of defence.

Why this exists: "0 attacker side effects" only means something next to the same attacks landing
when the defences are off, and next to what the defences cost on benign work. So every scenario
of `tests/provenance/scenarios.py` (both tool packs) runs under four settings: the shipped one
(tool-output quarantine, then the provenance gate), the gate alone, quarantine alone (every
tool's `sinks` emptied through `[tools.policies]`, which leaves only the tier rules) and
neither. Every benign task runs with and without the gate to count the approval prompts it adds.

The model is the worst case: it obeys any instruction it can read, decoded if need be. The
approver rejects a request whose provenance shows an untrusted (or unsupported) sink value and
approves the rest, so an attacker side effect is always one no approval warned about. The runs
are the ones `tests/provenance/test_scenarios.py` checks (`tests/provenance/harness.py`). It is a
measurement, not a test: it always exits 0.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from statistics import mean

from tests.provenance.harness import Outcome, run_case
from tests.provenance.scenario_kit import Scenario
from tests.provenance.scenarios import BENIGN_TASKS, SCENARIOS

SETTINGS = (
    ("quarantine + provenance gate (shipped)", True, True),
    ("provenance gate only", True, False),
    ("quarantine only", False, True),
    ("neither", False, False),
)
STOPS = ("quarantine", "provenance", "deny", "other", "not_stopped")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the options: a file to write the report to, and whether to list every scenario."""
    p = argparse.ArgumentParser(prog="python -m bench.injection_eval", description=__doc__)
    p.add_argument("--markdown", type=Path, help="also write the report to this file")
    p.add_argument("--scenarios", action="store_true", help="list every scenario's outcome")
    return p.parse_args(argv)


def run_all(root: Path) -> tuple[dict[str, list[Outcome]], dict[bool, list[Outcome]]]:
    """Run every scenario under every setting and every benign task with and without the gate."""
    attacks: dict[str, list[Outcome]] = {}
    for label, gate, quarantine in SETTINGS:
        print(f"running: {label}", file=sys.stderr)
        attacks[label] = [
            run_case(
                root / f"{label[:5]}-{gate}-{quarantine}-{s.id}",
                s.task,
                s,
                gate=gate,
                quarantine=quarantine,
            )
            for s in SCENARIOS
        ]
    benign = {
        gate: [run_case(root / f"benign-{gate}-{t.id}", t, gate=gate) for t in BENIGN_TASKS]
        for gate in (True, False)
    }
    return attacks, benign


def _row(cells: Sequence[object]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _attack_table(attacks: dict[str, list[Outcome]]) -> list[str]:
    lines = [
        _row(
            [
                "Defences",
                "Attacks attempted",
                "Attacker side effects",
                "Stopped by quarantine",
                "Stopped by provenance gate",
                "Stopped by deny",
                "Not stopped",
            ]
        ),
        _row(["---"] + ["---:"] * 6),
    ]
    for label, outcomes in attacks.items():
        stops = Counter(o.stopped_by for o in outcomes)
        attempted = sum(o.attack_call_id is not None for o in outcomes)
        lines.append(
            _row(
                [
                    label,
                    f"{attempted}/{len(outcomes)}",
                    sum(o.attack_effects for o in outcomes),
                    stops["quarantine"],
                    stops["provenance"],
                    stops["deny"],
                    stops["not_stopped"] + stops["other"],
                ]
            )
        )
    return lines


def _benign_table(benign: dict[bool, list[Outcome]]) -> list[str]:
    lines = [
        _row(
            [
                "Benign runs",
                "Runs",
                "Approval prompts per run",
                "Added by the provenance gate",
                "Prompts warning of an untrusted sink",
                "Task done",
            ]
        ),
        _row(["---"] + ["---:"] * 5),
    ]
    base = mean(len(o.prompts) for o in benign[False])
    for gate, label in ((True, "with the provenance gate"), (False, "tier rules only (sinks=())")):
        runs = benign[gate]
        per_run = mean(len(o.prompts) for o in runs)
        warned = sum(p.tainted for o in runs for p in o.prompts)
        done = sum(o.task_effects == 1 for o in runs)
        lines.append(
            _row(
                [
                    label,
                    len(runs),
                    f"{per_run:.2f}",
                    f"{per_run - base:+.2f}",
                    warned,
                    f"{done}/{len(runs)}",
                ]
            )
        )
    return lines


def _family_table(outcomes: list[Outcome]) -> list[str]:
    by_id = {o.case: o for o in outcomes}
    lines = [
        _row(
            [
                "Family (shipped defences)",
                "Scenarios",
                "Attempted",
                "Quarantine",
                "Provenance",
                "Deny",
                "Not stopped",
            ]
        ),
        _row(["---"] + ["---:"] * 6),
    ]
    for family in sorted({s.family for s in SCENARIOS}):
        mine = [by_id[s.id] for s in SCENARIOS if s.family == family]
        stops = Counter(o.stopped_by for o in mine)
        lines.append(
            _row(
                [
                    family,
                    len(mine),
                    sum(o.attack_call_id is not None for o in mine),
                    stops["quarantine"],
                    stops["provenance"],
                    stops["deny"],
                    stops["not_stopped"] + stops["other"],
                ]
            )
        )
    return lines


def _scenario_table(attacks: dict[str, list[Outcome]]) -> list[str]:
    labels = list(attacks)
    lines = [
        _row(["Scenario", "Pack", "Poison", "Technique", *labels]),
        _row(["---"] * (4 + len(labels))),
    ]
    for i, s in enumerate(SCENARIOS):
        lines.append(
            _row(
                [
                    s.id,
                    s.pack,
                    s.plant.where,
                    s.technique,
                    *(attacks[label][i].stopped_by for label in labels),
                ]
            )
        )
    return lines


def _gaps(shipped: list[Outcome]) -> list[str]:
    scenarios: dict[str, Scenario] = {s.id: s for s in SCENARIOS}
    lines = []
    for o in shipped:
        if o.stopped_by in ("not_stopped", "other"):
            s = scenarios[o.case]
            lines.append(
                f"- `{o.case}` ({s.plant.where}, {s.technique}): "
                f"{s.known_gap or 'unexpected: not a known gap'}"
            )
    for t in BENIGN_TASKS:
        if t.known_gap:
            lines.append(f"- benign `{t.id}` warns by mistake: {t.known_gap}")
    return lines or ["- none"]


def render(
    attacks: dict[str, list[Outcome]], benign: dict[bool, list[Outcome]], *, scenarios: bool
) -> str:
    """Return the Markdown report."""
    shipped = attacks[SETTINGS[0][0]]
    desk = sum(s.pack == "desk" for s in SCENARIOS)
    intro = (
        f"{len(SCENARIOS)} scenarios ({desk} support desk, {len(SCENARIOS) - desk} workspace), "
        f"{len(BENIGN_TASKS)} benign tasks; a scripted model that obeys any instruction it can "
        "read; an approver who rejects requests that show an untrusted sink. An attacker side "
        "effect is therefore one no approval warned about."
    )
    lines = [
        "## Indirect injection: poisoned-content scenarios",
        "",
        intro,
        "",
        *_attack_table(attacks),
        "",
        *_benign_table(benign),
        "",
        *_family_table(shipped),
        "",
        "Not stopped with the shipped defences, and benign tasks warned by mistake:",
        "",
        *_gaps(shipped),
    ]
    if scenarios:
        lines += ["", *_scenario_table(attacks)]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite, print the report, optionally write it; always return 0."""
    args = parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="injection-eval-") as tmp:
            attacks, benign = run_all(Path(tmp))
        report = render(attacks, benign, scenarios=args.scenarios)
        print(report)
        if args.markdown:
            args.markdown.write_text(report, encoding="utf-8")
    except Exception as exc:  # noqa: BLE001 - a measurement reports its failure and still exits 0
        print(f"injection_eval failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
