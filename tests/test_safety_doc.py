"""docs/agent-safety.md cannot drift from the code.

The tool matrix, the cost controls and the audit schema are generated from the live tool set, the
config models and a real audit store; the failure scenarios are written by hand, so every reason
code, node and CLI command they name is checked against the code. Each test here fails when the
document and the code disagree.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from safe_agent.cli import cli
from safe_agent.policies.config import SafetyConfig
from safe_agent.policies.verdict import ReasonCode
from safe_agent.settings import load_tool_set

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "agent-safety.md"
SCENARIOS = (
    "model timeout",
    "loop",
    "breaker open",
    "unauthorized call",
    "budget exhausted",
    "tool failure",
    "crash mid-call",
    "injection",
)
NODES = {p.stem for p in (ROOT / "nodes").glob("*.py") if not p.stem.startswith("_")}


def _doc() -> str:
    assert DOC.exists(), f"{DOC.relative_to(ROOT)} is missing"
    return DOC.read_text()


def _section(text: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, f"no '## {title}' section"
    return match.group(1)


def _table(text: str) -> list[list[str]]:
    """The body rows of the first markdown table in `text`, as stripped cells."""
    rows = [line for line in text.splitlines() if line.startswith("|")]
    return [[c.strip() for c in r.strip().strip("|").split("|")] for r in rows[2:]]


def _generated(text: str, name: str) -> str:
    match = re.search(rf"<!-- generated: {name} -->\n(.*?)<!-- end generated -->", text, re.S)
    assert match, f"no generated '{name}' block"
    return match.group(1)


def test_generated_blocks_are_a_fresh_render() -> None:
    from safe_agent.safety_doc import render_blocks, stale_blocks

    assert stale_blocks(_doc(), render_blocks()) == []


def test_every_live_tool_is_in_the_matrix_with_its_policy() -> None:
    rows = {r[0].strip("`"): r for r in _table(_generated(_doc(), "tools"))}
    live = load_tool_set(SafetyConfig())
    assert set(rows) == set(live)
    for name, spec in live.items():
        assert rows[name][1] == spec.tier.value and rows[name][2] == spec.required_role.value, name


def test_the_matrix_follows_the_tool_set_and_the_config() -> None:
    """A tool with no policy shows the fail-closed defaults; a config rule and override show."""
    from safe_agent.safety_doc import render_tools
    from safe_agent.tools import tool_from_function

    def close_account(account_id: str) -> dict:
        """Close a customer account."""
        return {"closed": account_id}

    config = SafetyConfig.model_validate(
        {
            "tools": {"policies": {"send_email": {"tier": "irreversible", "timeout_s": 3}}},
            "approval": {
                "rules": [
                    {
                        "id": "big-refund",
                        "tools": ["issue_refund"],
                        "approver_role": "admin",
                        "quorum": 2,
                        "when": [{"arg": "amount_usd", "op": "gt", "value": 100}],
                    },
                    {"id": "irreversible", "tiers": ["irreversible"]},
                ]
            },
        }
    )
    tools = {**load_tool_set(config), "close_account": tool_from_function(close_account)}
    rows = {r[0].strip("`"): r for r in _table(render_tools(tools, config))}
    assert rows["close_account"][1:6] == [
        "irreversible",
        "write",
        rows["close_account"][3],
        "10",
        "no",
    ]
    assert "irreversible" in rows["close_account"][3]
    assert rows["send_email"][4] == "3"
    assert "big-refund" in rows["issue_refund"][3] and "amount_usd > 100" in rows["issue_refund"][3]
    # delete_customer is destructive and no rule of this config covers it: the admin fallback
    assert "fallback.destructive" in rows["delete_customer"][3]


def test_failure_scenarios_name_real_codes_and_nodes() -> None:
    rows = _table(_section(_doc(), "Failure scenarios"))
    assert [r[0].strip("*").lower() for r in rows] == list(SCENARIOS)
    codes = {c.value for c in ReasonCode}
    for row in rows:
        assert len(row) == 6, row[0]
        named = re.findall(r"`([a-z_]+)`", row[2])
        assert named, f"{row[0]}: no reason code in the detection column"
        nodes = [n for n in named if n in NODES]
        assert nodes, f"{row[0]}: no graph node named as the detector"
        unknown = [n for n in named if n not in codes and n not in NODES]
        assert not unknown, f"{row[0]}: {unknown} are neither reason codes nor nodes"
        assert re.search(r"`safe-agent [^`]+`", row[5]), f"{row[0]}: no recovery command"


def _resolve(words: list[str]) -> tuple[click.Command, list[str]]:
    """Follow `words` through the click groups; return the command reached and the words left."""
    command: click.Command = cli
    while words and isinstance(command, click.Group):
        ctx = click.Context(command)
        sub = command.get_command(ctx, words[0])
        if sub is None:
            break
        command, words = sub, words[1:]
    return command, words


def test_every_cli_command_named_exists() -> None:
    named = re.findall(r"`safe-agent ([^`]+)`", _doc())
    assert len(named) >= 8
    for line in named:
        words = line.split()
        command, rest = _resolve(words)
        assert command is not cli, f"safe-agent {line}: no such command"
        assert not isinstance(command, click.Group) or not rest or rest[0].startswith("-"), line
        options = {o for p in command.params for o in getattr(p, "opts", ())}
        for word in rest:
            if word.startswith("--"):
                flag = word.split("=")[0]
                assert flag in options, f"safe-agent {line}: {command.name} has no {flag}"


def test_audit_kinds_named_are_written_by_the_code() -> None:
    """`kind` is an open string (no enum), so the doc's list is checked against the source."""
    kinds = re.findall(r"`([a-z_]+)`", _section(_doc(), "Audit event kinds"))
    sources = "\n".join(
        p.read_text() for d in ("nodes", "safe_agent", "stores") for p in (ROOT / d).glob("*.py")
    )
    assert len(kinds) >= 10
    missing = [k for k in kinds if f'"{k}"' not in sources]
    assert not missing, f"kinds named in the doc that no code writes: {missing}"


def test_audit_schema_is_the_stores() -> None:
    from safe_agent.stores.audit_rows import COLUMNS, TRIGGERS

    block = _generated(_doc(), "audit")
    listed = {r[0].strip("`") for r in _table(block)}
    assert set(COLUMNS) <= listed
    for sql in TRIGGERS:
        name = re.search(r"EXISTS (\w+)", sql).group(1)
        assert f"`{name}`" in block


def _stale_copy(tmp_path: Path) -> Path:
    stale = tmp_path / "agent-safety.md"
    text = _doc()
    assert "| `send_email` | irreversible |" in text
    stale.write_text(
        text.replace("| `send_email` | irreversible |", "| `send_email` | read_only |")
    )
    return stale


def test_check_exits_1_on_a_stale_doc_and_write_repairs_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from safe_agent.safety_doc import main

    stale = _stale_copy(tmp_path)
    assert main(["--check", "--doc", str(stale)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "tools" in err and "costs" not in err, err
    assert main(["--write", "--doc", str(stale)]) == 0
    assert stale.read_text() == _doc()
    assert main(["--check", "--doc", str(stale)]) == 0


@pytest.mark.slow
def test_the_module_command_checks_in_one_line(tmp_path: Path) -> None:
    """`python -m safe_agent.safety_doc --check`, as the doc and the lead run it."""
    command = [sys.executable, "-m", "safe_agent.safety_doc", "--check", "--doc"]
    out = subprocess.run(
        [*command, str(_stale_copy(tmp_path))], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 1, out
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr, out.stderr
    fresh = subprocess.run(command + [str(DOC)], capture_output=True, text=True, timeout=120)
    assert fresh.returncode == 0, fresh.stderr


@pytest.mark.parametrize(
    "text, needle",
    [
        ("no markers at all\n", "generated"),
        (None, "cannot read"),
    ],
)
def test_check_reports_a_broken_doc_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | None, needle: str
) -> None:
    from safe_agent.safety_doc import main

    doc = tmp_path / "doc.md"
    if text is not None:
        doc.write_text(text)
    assert main(["--check", "--doc", str(doc)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and needle in err, err


def test_the_adr_cites_only_measured_figures() -> None:
    """Every decimal figure in the ADR is one docs/benchmarks.md reports (our own measurements)."""
    adr = (ROOT / "docs" / "architecture-decision.md").read_text()
    bench = (ROOT / "docs" / "benchmarks.md").read_text()
    figures = re.findall(r"\d+\.\d+", adr)
    assert len(figures) >= 6
    assert [f for f in figures if f not in bench] == []
    for link in re.findall(r"\]\(([a-z_-]+\.md)\)", adr):
        assert (ROOT / "docs" / link).exists(), link
