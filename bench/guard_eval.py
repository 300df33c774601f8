"""`python -m bench.guard_eval`: recall, false-positive rate and latency of `policies.input_guard`.

Why this exists: the guard is a rule-and-structure layer (NFKC, invisible characters, phrase
tables), a different trade-off from model-based injection classifiers. Its worth is two numbers
measured together on labelled data, how many attacks it stops and how many customers it wrongly
stops, so this runs the hand-labelled sets in `bench.guard_data` and prints both, with the misses
and false positives listed so the reader can judge them. It is a measurement, not a test: it
always exits 0.

Direct messages go through `check_input` with the default `InputConfig.max_chars`; any deny
counts as blocked (injection phrase, control/format characters, length). Tool results go through
`scan_tool_output` in the form `nodes.execute_tool` gives it: `json.dumps(result, default=str)`
cut to 8,000 characters. Because that JSON escapes non-ASCII characters and newlines, the tool
set is also scanned on its plain text (string values joined by newlines) to show what the JSON
form costs. Latency times only the guard call, not `json.dumps`.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import timeit
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.guard_data import DIRECT, INDIRECT, Item
from policies.config import InputConfig
from policies.input_guard import check_input, scan_tool_output
from policies.verdict import Verdict

MAX_CHARS = InputConfig().max_chars
MAX_RESULT_CHARS = 8_000  # as nodes.execute_tool
SHOWN_CHARS = 90


@dataclass
class Outcome:
    """One labelled input and what the guard said."""

    text: str
    shown: str
    is_attack: bool
    category: str
    blocked: bool
    rule: str


@dataclass
class SetResult:
    """Counts, per-category figures and latency for one labelled set under one guard."""

    name: str
    outcomes: list[Outcome]
    samples_us: list[float] = field(default_factory=list)

    @property
    def attacks(self) -> list[Outcome]:
        """The attack inputs."""
        return [o for o in self.outcomes if o.is_attack]

    @property
    def benign(self) -> list[Outcome]:
        """The benign inputs."""
        return [o for o in self.outcomes if not o.is_attack]

    @property
    def tp(self) -> int:
        """Attacks blocked."""
        return sum(o.blocked for o in self.attacks)

    @property
    def fp(self) -> int:
        """Benign inputs blocked."""
        return sum(o.blocked for o in self.benign)

    @property
    def recall(self) -> float:
        """Attacks blocked / attacks."""
        return _ratio(self.tp, len(self.attacks))

    @property
    def fpr(self) -> float:
        """Benign blocked / benign."""
        return _ratio(self.fp, len(self.benign))

    @property
    def precision(self) -> float:
        """Attacks blocked / everything blocked."""
        return _ratio(self.tp, self.tp + self.fp)

    def by_category(self, attack: bool) -> list[tuple[str, int, int]]:
        """(category, blocked, total) for attack or benign categories, in first-seen order."""
        counts: dict[str, list[int]] = {}
        for o in self.outcomes:
            if o.is_attack is attack:
                c = counts.setdefault(o.category, [0, 0])
                c[0] += o.blocked
                c[1] += 1
        return [(cat, b, n) for cat, (b, n) in counts.items()]

    def rules(self, attack: bool) -> Counter[str]:
        """How often each rule fired, on attacks or on benign inputs."""
        return Counter(o.rule for o in self.outcomes if o.is_attack is attack and o.blocked)


def _ratio(num: int, den: int) -> float:
    return num / den if den else math.nan


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _leaves(payload: Any) -> Iterator[str]:
    """Every string value in a tool result, depth first."""
    if isinstance(payload, str):
        yield payload
    elif isinstance(payload, dict):
        for value in payload.values():
            yield from _leaves(value)
    elif isinstance(payload, (list, tuple)):
        for value in payload:
            yield from _leaves(value)


def _telling_part(payload: Any, guard: Callable[[str], Verdict]) -> str:
    """The string value to show in a listing: the first one the guard blocks alone, else the longest."""
    leaves = list(_leaves(payload)) or [str(payload)]
    blocked = [leaf for leaf in leaves if not guard(leaf).allowed]
    return blocked[0] if blocked else max(leaves, key=len)


def as_deployed(payload: Any) -> str:
    """The text `nodes.execute_tool` scans: the JSON of the result, cut to its limit."""
    return json.dumps(payload, default=str)[:MAX_RESULT_CHARS]


def as_plain(payload: Any) -> str:
    """The result's string values joined by newlines: what a scan before serialisation would see."""
    return "\n".join(_leaves(payload))


def _direct(text: str) -> Verdict:
    return check_input(text=text, max_chars=MAX_CHARS)[0]


def evaluate(name: str, items: Sequence[Item], guard: Callable[[str], Verdict], to_text: Callable[[Any], str],
             *, number: int, repeat: int) -> SetResult:
    """Run every item through the guard once for the verdict, then time it `repeat` x `number` times."""
    outcomes: list[Outcome] = []
    samples: list[float] = []
    for payload, is_attack, category in items:
        text = to_text(payload)
        verdict = guard(text)
        outcomes.append(Outcome(text, _telling_part(payload, guard), is_attack, category, not verdict.allowed,
                                "" if verdict.allowed else verdict.policy_id))
        if repeat:
            runs = timeit.repeat(lambda: guard(text), number=number, repeat=repeat)  # noqa: B023 - used at once
            samples.extend(t / number * 1e6 for t in runs)
    return SetResult(name, outcomes, samples)


def _pct(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{100 * x:.1f}%"


def _show(text: str) -> str:
    """A short, single-line, Markdown-safe rendering that makes invisible characters visible."""
    shown = repr(text)[1:-1]
    if len(shown) > SHOWN_CHARS:
        shown = shown[: SHOWN_CHARS - 1] + "…"
    return "`" + shown.replace("`", "'").replace("|", "\\|") + "`"


def _summary_row(r: SetResult) -> str:
    med, p99 = statistics.median(r.samples_us) if r.samples_us else math.nan, percentile(r.samples_us, 99)
    lat = "n/a | n/a" if math.isnan(med) else f"{med:.1f} | {p99:.1f}"
    return (f"| {r.name} | {len(r.attacks)} | {len(r.benign)} | {r.tp}/{len(r.attacks)} = {_pct(r.recall)} "
            f"| {r.fp}/{len(r.benign)} = {_pct(r.fpr)} | {_pct(r.precision)} | {lat} |")


def _category_table(r: SetResult) -> list[str]:
    lines = [f"**{r.name}**", "", "| kind | category | blocked | of | rate |", "|---|---|---:|---:|---:|"]
    for attack, kind in ((True, "attack (recall)"), (False, "benign (false positives)")):
        for cat, blocked, total in r.by_category(attack):
            lines.append(f"| {kind} | {cat} | {blocked} | {total} | {_pct(_ratio(blocked, total))} |")
    lines.append("")
    for attack, what in ((True, "attacks"), (False, "benign inputs")):
        fired = r.rules(attack)
        if fired:
            lines.append(f"Rules that blocked {what}: " + ", ".join(f"`{k}` {v}" for k, v in fired.most_common()))
            lines.append("")
    return lines


def _listing(r: SetResult) -> list[str]:
    missed = [o for o in r.attacks if not o.blocked]
    false_pos = [o for o in r.benign if o.blocked]
    lines = [f"**{r.name}: {len(missed)} missed attacks**", ""]
    if r.name.startswith("indirect"):
        lines = [*lines, "(Each tool result is shown by the string value that carries the text, not as JSON.)", ""]
    lines += [f"- [{o.category}] {_show(o.shown)}" for o in missed] or ["- none"]
    lines += ["", f"**{r.name}: {len(false_pos)} false positives**", ""]
    lines += [f"- [{o.category}] `{o.rule}` {_show(o.shown)}" for o in false_pos] or ["- none"]
    lines.append("")
    return lines


def render(results: Sequence[SetResult], *, number: int, repeat: int) -> str:
    """The Markdown report."""
    timing = (f"Latency: each input timed {repeat} x {number} calls (`timeit`); median and p99 over all "
              "those per-call samples, in microseconds." if repeat else "Latency not measured (--repeat 0).")
    lines = [
        "# Input guard evaluation",
        "",
        f"Python {platform.python_version()} on {platform.machine()} ({platform.system()}). {timing} "
        f"`check_input` max_chars = {MAX_CHARS}.",
        "",
        "| set | attacks | benign | recall | false-positive rate | precision | median µs | p99 µs |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        *(_summary_row(r) for r in results),
        "",
        "## Per category",
        "",
    ]
    for r in results:
        lines += _category_table(r)
    lines += ["## Missed attacks and false positives", ""]
    for r in results:
        lines += _listing(r)
    return "\n".join(lines).rstrip() + "\n"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the timing effort and the optional output file."""
    p = argparse.ArgumentParser(prog="python -m bench.guard_eval", description=__doc__.split("\n\n")[0])
    p.add_argument("--number", type=int, default=50, help="calls per timing sample (default 50)")
    p.add_argument("--repeat", type=int, default=20, help="timing samples per input (default 20; 0 skips timing)")
    p.add_argument("--markdown", type=Path, help="also write the report to this file")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Evaluate both sets, print the report, optionally write it; always return 0."""
    args = parse_args(argv)
    number, repeat = max(1, args.number), max(0, args.repeat)
    try:
        results = [
            evaluate("direct: check_input", DIRECT, _direct, str, number=number, repeat=repeat),
            evaluate("indirect: scan_tool_output on json.dumps (old wiring)", INDIRECT, scan_tool_output, as_deployed,
                     number=number, repeat=repeat),
            evaluate("indirect: scan_tool_output on decoded strings (as deployed)", INDIRECT, scan_tool_output, as_plain,
                     number=number, repeat=repeat),
        ]
        report = render(results, number=number, repeat=repeat)
        print(report)
        if args.markdown:
            args.markdown.write_text(report, encoding="utf-8")
    except Exception as exc:  # noqa: BLE001 - a measurement reports its failure and still exits 0
        print(f"guard_eval failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
