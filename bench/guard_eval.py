"""`python -m bench.guard_eval`: recall, false-positive rate and latency of `policies.input_guard`.

Why: a rule-and-structure guard is only worth its false positives if we know how much it
catches on text nobody here wrote. This report runs four labelled sets through the guard and
prints, per attack family and per benign family, how many were blocked and how long the call
took, then the cost of one call on 10 KB of long text. It is a measurement, not a test: it
always exits 0 (`tests/policies/test_guard_public.py` holds the asserted floors).

- **direct, hand-written** (`bench.guard_data.DIRECT`) and **direct, public**
  (`bench.guard_public_sets.direct_items`): user messages through `check_input`. Any deny counts as
  blocked. The limit is raised to `LONG_LIMIT` so recall measures the rules, not the length cap;
  the report says how many attacks the deployed `InputConfig.max_chars` would refuse anyway.
- **tool output, hand-written** (`bench.guard_data.INDIRECT`): each string value of a result is
  scanned on its own, as `nodes.execute_tool` does; a result counts as blocked when any value is.
- **tool output, public** (`bench.guard_public_sets.indirect_items`): single string values.

Latency: each input is timed `--repeat` x `--number` calls with `timeit`; median and p99 are
over the per-call samples of a family, in microseconds.
"""

from __future__ import annotations

import argparse
import math
import platform
import random
import re
import statistics
import sys
import timeit
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import guard_public, guard_public_sets
from bench.guard_data import DIRECT, INDIRECT
from safe_agent.policies.config import InputConfig
from safe_agent.policies.input_guard import check_input, scan_tool_output

MAX_CHARS = InputConfig().max_chars
LONG_LIMIT = 1_000_000
SHOWN_CHARS = 100


@dataclass(frozen=True)
class Sample:
    """One labelled input: the strings the guard is called on, its label and family."""

    parts: tuple[str, ...]
    is_attack: bool
    family: str


@dataclass
class Family:
    """Counts and latency samples for one family of one set."""

    name: str
    is_attack: bool
    total: int = 0
    blocked: int = 0
    samples_us: list[float] = field(default_factory=list)
    examples: list[tuple[str, str]] = field(default_factory=list)  # misses or false positives


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (NaN for no values)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(1, math.ceil(pct / 100 * len(ordered))) - 1]


def leaves(payload: Any) -> Iterator[str]:
    """Every string value in a tool result, depth first, as `nodes.execute_tool` scans them."""
    if isinstance(payload, str):
        yield payload
    elif isinstance(payload, dict):
        for value in payload.values():
            yield from leaves(value)
    elif isinstance(payload, (list, tuple)):
        for value in payload:
            yield from leaves(value)


def direct_guard(text: str) -> tuple[bool, str]:
    """(blocked, rule) for a user message."""
    verdict = check_input(text=text, max_chars=LONG_LIMIT)[0]
    return (not verdict.allowed, verdict.policy_id)


def tool_guard(text: str) -> tuple[bool, str]:
    """(blocked, rule) for one string value of a tool result."""
    verdict = scan_tool_output(text)
    return (not verdict.allowed, verdict.policy_id)


def hand_direct() -> list[Sample]:
    """The hand-written user messages."""
    return [Sample((text,), attack, category) for text, attack, category in DIRECT]


def hand_tool() -> list[Sample]:
    """The hand-written tool results, split into their string values."""
    return [
        Sample(tuple(leaves(p)) or (str(p),), attack, category) for p, attack, category in INDIRECT
    ]


def public(items: Iterable[guard_public.PublicItem]) -> list[Sample]:
    """Public items as samples."""
    return [Sample((i.text,), i.is_attack, i.family) for i in items]


def evaluate(
    samples: Sequence[Sample], guard: Callable[[str], tuple[bool, str]], *, number: int, repeat: int
) -> list[Family]:
    """Run every sample once for its verdict, then time it; return families in first-seen order."""
    families: dict[tuple[str, bool], Family] = {}
    for s in samples:
        fam = families.setdefault((s.family, s.is_attack), Family(s.family, s.is_attack))
        verdicts = [guard(part) for part in s.parts]
        blocked = any(b for b, _ in verdicts)
        fam.total += 1
        fam.blocked += blocked
        if blocked is not s.is_attack:
            rule = next((r for b, r in verdicts if b), "")
            fam.examples.append(
                (
                    rule,
                    max(s.parts, key=len)
                    if not blocked
                    else next(p for p, (b, _) in zip(s.parts, verdicts, strict=True) if b),
                )
            )
        if repeat:

            def call(parts: tuple[str, ...] = s.parts) -> None:
                for part in parts:
                    guard(part)

            fam.samples_us += [
                t / number * 1e6 for t in timeit.repeat(call, number=number, repeat=repeat)
            ]
    return list(families.values())


def _pct(num: int, den: int) -> str:
    return f"{100 * num / den:.1f}%" if den else "n/a"


def _lat(values: Sequence[float]) -> str:
    if not values:
        return "n/a | n/a"
    return f"{statistics.median(values):.0f} | {percentile(values, 99):.0f}"


def _show(text: str) -> str:
    shown = repr(text)[1:-1]
    shown = shown[: SHOWN_CHARS - 1] + "…" if len(shown) > SHOWN_CHARS else shown
    return "`" + shown.replace("`", "'").replace("|", "\\|") + "`"


def render_set(title: str, families: Sequence[Family], *, list_misses: bool) -> list[str]:
    """One set's table: attack families (recall), then benign families (false-positive rate)."""
    attacks = [f for f in families if f.is_attack]
    benign = [f for f in families if not f.is_attack]
    tp, na = sum(f.blocked for f in attacks), sum(f.total for f in attacks)
    fp, nb = sum(f.blocked for f in benign), sum(f.total for f in benign)
    lines = [
        f"### {title}",
        "",
        f"Recall {tp}/{na} = {_pct(tp, na)}; false positives {fp}/{nb} = {_pct(fp, nb)}.",
        "",
        "| kind | family | n | blocked | rate | median µs | p99 µs |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for f in attacks + benign:
        kind = "attack (recall)" if f.is_attack else "benign (FPR)"
        rate = _pct(f.blocked, f.total)
        lines.append(
            f"| {kind} | {f.name} | {f.total} | {f.blocked} | {rate} | {_lat(f.samples_us)} |"
        )
    lines.append("")
    for f in benign:
        for rule, text in f.examples:
            lines.append(f"- false positive [{f.name}] `{rule}` {_show(text)}")
    if list_misses:
        for f in attacks:
            for _, text in f.examples:
                lines.append(f"- missed [{f.name}] {_show(text)}")
    return [*lines, ""] if lines[-1] else lines


def long_texts(size: int = 10_240) -> dict[str, str]:
    """Texts of about `size` UTF-8 bytes: mixed non-ASCII, Cyrillic, Japanese and English."""
    rng = random.Random(0)
    parts = {
        "mixed non-ASCII (ja, ru, ar, zh, emoji)": [
            "東京都の天気は晴れです。明日は雨が降るでしょう。ご注文ありがとうございます。\n",
            "Здравствуйте, когда придёт мой заказ? Спасибо за помощь.\n",
            "مرحبا، أريد إرجاع الحذاء لأنه صغير. ",
            "我的订单什么时候发货？谢谢你的帮助。",
            "Thanks 🙏😊 great tent ⛺🔥 👩\u200d💻 ",
        ],
        "Cyrillic": [
            "Здравствуйте, когда придёт мой заказ 1004? Спасибо за помощь, ответьте, пожалуйста.\n"
        ],
        "Japanese": [
            "注文1003の返品方法を教えてください。東京都の天気は晴れです。明日は雨が降るでしょう。\n"
        ],
        "English": [
            "Returns are accepted within 30 days of delivery. Send photos of the damage to "
            "warranty@example.com and we will reply within two working days.\n"
        ],
    }
    out = {}
    for name, pieces in parts.items():
        text = ""
        while len(text.encode()) < size:
            text += rng.choice(pieces)
        out[name] = text
    return out


def long_text_latency(*, number: int = 20, repeat: int = 15) -> list[str]:
    """Per-call latency of both guards on about 10 KB of each long text, in milliseconds."""
    lines = [
        "### Long text (about 10 KB)",
        "",
        "| text | bytes | check_input median ms | p99 ms | scan_tool_output median ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, text in long_texts().items():
        cells = []
        calls = (
            lambda t=text: check_input(text=t, max_chars=LONG_LIMIT),
            lambda t=text: scan_tool_output(t),
        )
        for call in calls:
            runs = [t / number * 1e3 for t in timeit.repeat(call, number=number, repeat=repeat)]
            cells.append(f"{statistics.median(runs):.3f} | {percentile(runs, 99):.3f}")
        lines.append(f"| {name} | {len(text.encode())} | {' | '.join(cells)} |")
    return [*lines, ""]


def collections_section(
    direct: Sequence[guard_public.PublicItem], tool: Sequence[guard_public.PublicItem]
) -> list[str]:
    """Which wheel, version and member each public family came from, with counts."""
    lines = [
        "### Public collections",
        "",
        "Read from the wheels at run time (never installed, never copied):",
        "",
    ]
    lines += [
        f"- {c.label} (`{c.wheel}`, sha256 `{c.sha256[:16]}…`)" for c in guard_public.COLLECTIONS
    ]
    lines += ["", "| set | label | family | n | read from |", "|---|---|---|---:|---|"]
    for set_name, items in (("direct", direct), ("tool output", tool)):
        groups: dict[tuple[str, bool], dict[str, int]] = {}
        for i in items:
            where = re.sub(r"/[^/:]+\.(json|yaml)$", r"/*.\1", i.source.split(" (")[0])
            per = groups.setdefault((i.family, i.is_attack), {})
            per[where] = per.get(where, 0) + 1
        for (family, attack), sources in groups.items():
            shown = "; ".join(
                f"`{w}`" + (f" ({n})" if len(sources) > 1 else "") for w, n in sources.items()
            )
            lines.append(
                f"| {set_name} | {'attack' if attack else 'benign'} | {family} "
                f"| {sum(sources.values())} "
                f"| {shown} |"
            )
    held = ", ".join(sorted(guard_public_sets.HELD_OUT))
    return [
        *lines,
        "",
        f"Held-out families (their misses were not read while writing rules): {held}.",
        "",
    ]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the timing effort and the optional output file."""
    p = argparse.ArgumentParser(
        prog="python -m bench.guard_eval", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--number", type=int, default=3, help="calls per timing sample (default 3)")
    p.add_argument(
        "--repeat", type=int, default=3, help="timing samples per input (default 3; 0 skips timing)"
    )
    p.add_argument("--list-misses", action="store_true", help="also list every missed attack")
    p.add_argument("--markdown", type=Path, help="also write the report to this file")
    return p.parse_args(argv)


def report(args: argparse.Namespace) -> str:
    """Build the whole Markdown report."""
    number, repeat = max(1, args.number), max(0, args.repeat)
    lines = [
        "# Input guard evaluation",
        "",
        f"Python {platform.python_version()} on {platform.machine()} "
        f"({platform.system()}); {repeat} x {number} timed calls per input. "
        "User messages are checked "
        f"with max_chars={LONG_LIMIT}.",
        "",
    ]
    timing = {"number": number, "repeat": repeat}
    lines += render_set(
        "Direct, hand-written (check_input)",
        evaluate(hand_direct(), direct_guard, **timing),
        list_misses=args.list_misses,
    )
    lines += render_set(
        "Tool output, hand-written (scan_tool_output per string value)",
        evaluate(hand_tool(), tool_guard, **timing),
        list_misses=args.list_misses,
    )
    try:
        direct, tool = guard_public_sets.direct_items(), guard_public_sets.indirect_items()
    except guard_public.CollectionUnavailable as exc:
        lines += [f"Public collections unavailable, public sets skipped: {exc}", ""]
    else:
        too_long = sum(i.is_attack and len(i.text) > MAX_CHARS for i in direct)
        lines += render_set(
            "Direct, public (check_input)",
            evaluate(public(direct), direct_guard, number=number, repeat=repeat),
            list_misses=args.list_misses,
        )
        lines += [
            f"{too_long} public direct attacks are longer than InputConfig.max_chars={MAX_CHARS}; "
            "the deployed guard would refuse them for length whatever the rules say.",
            "",
        ]
        lines += render_set(
            "Tool output, public (scan_tool_output)",
            evaluate(public(tool), tool_guard, number=number, repeat=repeat),
            list_misses=args.list_misses,
        )
        lines += collections_section(direct, tool)
    lines += long_text_latency()
    return "\n".join(lines).rstrip() + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Print the report, optionally write it; always return 0."""
    args = parse_args(argv)
    try:
        text = report(args)
        print(text)
        if args.markdown:
            args.markdown.write_text(text, encoding="utf-8")
    except Exception as exc:  # noqa: BLE001 - a measurement reports its failure and still exits 0
        print(f"guard_eval failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
