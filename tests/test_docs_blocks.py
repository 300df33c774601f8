"""Every example in README.md and docs/*.md runs as pasted, is a config that loads, or says why not.

A reader pastes these blocks; one that rotted (a flag renamed, a config key dropped, a shell
quote that eats `$25`) fails them silently. So each ```bash/sh/shell/console/python/toml/json
block is one of: run here (Python in a fresh interpreter, shell with `bash -e`, both in an empty
folder with a temp data home and no provider key), run by another named test (`<!-- run by
tests/PATH -->`, or a page listed in RUN_ELSEWHERE), a config validated against the real
`SafetyConfig`, or marked `<!-- not runnable: why -->` with a real reason.

Placeholders a reader replaces are replaced the same way here, and only these two:
`sa_...` is the API key the block's last `safe-agent` command printed, and `THREAD` is a thread
paused at an approval, a fresh one for each mention (so `--approve`, `--reject` and `--edit`
lines are real alternatives). A shell block that does not bootstrap its own first principal
runs in a home that has ops-1 (admin, its key in SAFE_AGENT_API_KEY), u-123 (write) and
approver-7 (admin, group finance), each key also in `~/.safe-agent/<id>.key`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import typing
from pathlib import Path

import pytest
from docs_blocks import (
    CHECKED,
    ROOT,
    RUNNER,
    SHELL,
    Block,
    all_blocks,
    blocks,
    offline_env,
    run_step,
)
from pydantic import BaseModel, ValidationError

from safe_agent.policies.approval import ApprovalResponse
from safe_agent.policies.config import SafetyConfig
from safe_agent.stores.principals import PrincipalDirectory

RUN_ELSEWHERE = {"docs/tools.md": "tests/test_docs_tools.py"}
"""Pages whose Python blocks another test runs in page order, with the files they write."""
VENV_BIN = Path(sys.executable).parent
PRINCIPALS = (("u-123", "write", ()), ("approver-7", "admin", ("finance",)))
PRELUDE = r"""
set -e -o pipefail
_out="$_DOCS_TMP/printed.log"
: > "$_out"
safe-agent() {  # the real command; what it prints is kept for _printed_key
    command safe-agent "$@" | tee -a "$_out"
    return "${PIPESTATUS[0]}"
}
_printed_key() {
    grep -o '"api_key": "sa_[^"]*"' "$_out" | tail -n 1 | cut -d '"' -f 4
}
_paused_thread() {
    command safe-agent run 'Please refund $25 on order 1001' --json \
        --key-file "$HOME/.safe-agent/u-123.key" \
    | python -c 'import json, sys; r = json.load(sys.stdin); assert r["status"] == "paused", r
print(r["thread_id"])'
}
"""


def _checked() -> list[Block]:
    return [block for block in all_blocks() if block.lang in CHECKED]


def _how_covered(block: Block) -> str | None:
    """Say how a block is covered, or None when nothing runs, loads or excuses it."""
    if block.not_runnable is not None:
        return "marked not runnable"
    if block.covered_by is not None:
        return f"run by {block.covered_by}"
    if block.lang in ("toml", "json"):
        return "loaded by test_docs_blocks_config_blocks_are_valid"
    if block.doc in RUN_ELSEWHERE and (block.lang == "python" or block.file_name is not None):
        return f"run by {RUN_ELSEWHERE[block.doc]}"
    if block.marker is None and block.lang == "python":
        return "run by test_docs_blocks_python_blocks_run"
    if block.marker is None and block.lang in SHELL:
        return "run by test_docs_blocks_shell_blocks_run"
    return None


def _python_docs() -> list[str]:
    found = {
        b.doc for b in _checked() if b.lang == "python" and (_how_covered(b) or "").endswith("_run")
    }
    return sorted(found)


def _shell_blocks() -> list[Block]:
    return [b for b in _checked() if b.lang in SHELL and (_how_covered(b) or "").endswith("_run")]


def test_docs_blocks_every_block_is_run_loaded_or_marked() -> None:
    uncovered = [
        f"{b.where} ({b.lang}, marker {b.marker!r})" for b in _checked() if _how_covered(b) is None
    ]
    hint = "run it, load it or mark it <!-- not runnable: why -->:\n"
    assert not uncovered, hint + "\n".join(uncovered)


def test_docs_blocks_markers_give_a_reason_or_a_real_test() -> None:
    """`not runnable:` says why in words; `run by` names a test that exists and uses the page."""
    bad = []
    for block in _checked():
        reason = block.not_runnable
        if reason is not None and len(re.findall(r"[A-Za-z]{2,}", reason)) < 3:
            bad.append(f"{block.where}: not runnable needs a reason, got {reason!r}")
        named = block.covered_by
        if named is not None:
            test = ROOT / named
            page = Path(block.doc).name
            first = block.code.strip().splitlines()[0].split("#")[0]
            words = re.split(r"[\s=]+", first.strip())
            if not test.is_file():
                bad.append(f"{block.where}: {named} does not exist")
            elif not (
                page in test.read_text()
                or named in block.code
                or all(word in test.read_text() for word in words)
            ):
                bad.append(f"{block.where}: {named} names neither {page} nor all of {words}")
        if block.marker is not None and _how_covered(block) is None:
            bad.append(f"{block.where}: unknown marker {block.marker!r}")
    assert not bad, "\n".join(bad)


def test_docs_blocks_config_blocks_are_valid() -> None:
    """Every TOML block, marked or not, is a config the real model accepts; JSON parses, and a
    JSON config or resume payload validates against the model that reads it."""
    errors = []
    for block in _checked():
        try:
            if block.lang == "toml":
                SafetyConfig.model_validate(tomllib.loads(block.code))
            elif block.lang == "json":
                value = json.loads(block.code)
                if isinstance(value, dict) and value.keys() <= SafetyConfig.model_fields.keys():
                    SafetyConfig.model_validate(value)
                if isinstance(value, dict) and "decisions" in value:
                    ApprovalResponse.model_validate(value)
        except (ValueError, ValidationError) as exc:
            errors.append(f"{block.where}: {str(exc).splitlines()[:3]}")
    assert not errors, "\n".join(errors)


def _shell_traps(code: str) -> list[str]:
    """What in a shell line would not do what it reads as: `$25` inside double quotes (the shell
    expands `$2`, so "refund $25" reaches the agent as "refund 5") and `--a|--b` (a pipe)."""
    traps = []
    for line in code.splitlines():
        command = line.split(" #")[0]
        traps += [
            f"{q!r}: $ in double quotes" for q in re.findall(r'"[^"\n]*\$\d[^"\n]*"', command)
        ]
        traps += [f"{p!r}: a pipe, not a choice" for p in re.findall(r"\S+\|--\S+", command)]
    return traps


def test_docs_blocks_shell_lines_mean_what_they_say() -> None:
    """Marked blocks too: a synopsis is still copied, so it must not carry a shell trap."""
    found = [
        f"{b.where}: {trap}" for b in _checked() if b.lang in SHELL for trap in _shell_traps(b.code)
    ]
    assert not found, "\n".join(found)


def _field(model: type[BaseModel], path: list[str]) -> bool:
    """Whether `a.b.c` names a field of the config model (through nested models and Optional)."""
    name, rest = path[0], path[1:]
    field = model.model_fields.get(name)
    if field is None:
        return False
    if not rest:
        return True
    nested = [
        a for a in _leaves(field.annotation) if isinstance(a, type) and issubclass(a, BaseModel)
    ]
    return any(_field(inner, rest) for inner in nested)


def _leaves(annotation: object) -> list[object]:
    args = typing.get_args(annotation)
    return [leaf for arg in args for leaf in _leaves(arg)] if args else [annotation]


def test_docs_blocks_config_keys_named_in_prose_exist() -> None:
    """A `[section] key` in the text is a real config field (docs/studio.md once named one the
    config refuses), so an operator who copies it gets a config that loads."""
    wrong = []
    sections = "|".join(SafetyConfig.model_fields)
    dotted = re.compile(rf"`((?:{sections})\.[a-z_.]+)`")
    for path in (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))):
        text = path.read_text()
        named = [
            (m, [*m[1].split("."), m[2]])
            for m in re.finditer(r"`\[\[?([a-z_.]+)\]?\] ([a-z_]+)`", text)
        ]
        named += [  # `approval.groups` "in the operator config"; `input.model` is a trace field
            (m, m[1].split("."))
            for m in dotted.finditer(text)
            if "config" in text[max(0, m.start() - 40) : m.end() + 40]
        ]
        for match, field_path in named:
            if not _field(SafetyConfig, field_path):
                line = text.count("\n", 0, match.start()) + 1
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {match[0]}")
    assert not wrong, "\n".join(wrong)


def _work_folder(tmp_path: Path) -> Path:
    """An empty folder like a fresh checkout's: only the `.venv` that `make demo` creates."""
    work = tmp_path / "work"
    work.mkdir()
    (work / ".venv").symlink_to(VENV_BIN.parent)
    return work


def test_docs_blocks_readme_puts_safe_agent_on_path(tmp_path: Path) -> None:
    """After the two opening commands the README says how to put `safe-agent` on PATH, in a
    block that does so, before any block uses the command."""
    readme = [b for b in blocks(ROOT / "README.md") if b.lang in SHELL]
    assert readme[0].code.split()[:2] == ["make", "demo"]
    setup = readme[1]
    assert "safe-agent" not in "".join(b.code for b in readme[:1])
    assert re.search(r"\.venv/bin", setup.code), setup.where
    work = _work_folder(tmp_path)
    env = offline_env(tmp_path / "var", PATH="/usr/bin:/bin", HOME=str(tmp_path))
    done = subprocess.run(
        ["bash", "-e", "-c", setup.code + "\ncommand -v safe-agent\n"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.split()[-1]).resolve() == (VENV_BIN / "safe-agent").resolve()


@pytest.mark.slow  # a fresh interpreter per page, each running the offline agent
@pytest.mark.parametrize("doc", _python_docs())
def test_docs_blocks_python_blocks_run(doc: str, tmp_path: Path) -> None:
    steps = [
        run_step(b)
        for b in blocks(ROOT / doc)
        if b.lang == "python" and _how_covered(b) == "run by test_docs_blocks_python_blocks_run"
    ]
    work = _work_folder(tmp_path)
    (tmp_path / "steps.json").write_text(json.dumps(steps))
    (tmp_path / "runner.py").write_text(RUNNER)
    done = subprocess.run(
        [sys.executable, str(tmp_path / "runner.py"), str(tmp_path / "steps.json")],
        cwd=work,
        env=offline_env(tmp_path / "var", HOME=str(tmp_path / "user")),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-6000:]
    assert "Traceback" not in done.stderr, done.stderr[-6000:]


def _seed_principals(tmp_path: Path, home: Path) -> str:
    """Give the home its first admin and two people, keys in ~/.safe-agent; return ops-1's key."""
    keys = tmp_path / "user" / ".safe-agent"
    keys.mkdir(parents=True, mode=0o700)
    home.mkdir(mode=0o700)
    directory = PrincipalDirectory(home / "principals.sqlite")
    _, admin_key = directory.bootstrap("ops-1", now=time.time())
    (keys / "ops-1.key").write_text(admin_key + "\n")
    for principal, role, groups in PRINCIPALS:
        _, key = directory.add(principal, role=role, groups=groups, now=time.time())
        (keys / f"{principal}.key").write_text(key + "\n")
    for key_file in keys.iterdir():
        key_file.chmod(0o600)
    return admin_key


def _as_pasted(code: str) -> str:
    """The block with the reader's two placeholders filled in (see the module docstring)."""
    code = code.replace("sa_...", '"$(_printed_key)"')
    return re.sub(r"\bTHREAD\b", '"$(_paused_thread)"', code)


@pytest.mark.slow  # each `safe-agent` command is a new process (about 2.5 s to start here)
@pytest.mark.parametrize("block", _shell_blocks(), ids=lambda b: b.where)
def test_docs_blocks_shell_blocks_run(block: Block, tmp_path: Path) -> None:
    home = tmp_path / "var"
    work = _work_folder(tmp_path)
    extra = {"HOME": str(tmp_path / "user"), "_DOCS_TMP": str(tmp_path)}
    extra["PATH"] = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"
    if "principals bootstrap" in block.code:
        (tmp_path / "user").mkdir()
    else:
        extra["SAFE_AGENT_API_KEY"] = _seed_principals(tmp_path, home)
    script = tmp_path / "block.sh"
    script.write_text(PRELUDE + _as_pasted(block.code))
    done = subprocess.run(
        ["bash", "-e", str(script)],
        cwd=work,
        env=offline_env(home, **extra),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, (
        f"{block.where}\n{block.code}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    shutil.rmtree(work)  # the demo writes under the working folder; keep tmp_path small
