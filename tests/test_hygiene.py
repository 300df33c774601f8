"""The files a production review expects beside the code, checked against the code itself.

A LICENSE, `py.typed`, an `.env.example` that names every variable the code reads, a Dockerfile
that runs as a non-root user with a HEALTHCHECK on a route the server really serves, a changelog
for the version being built, and lint/format settings that `make test` applies (issue 13.6).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE = ("safe_agent", "graph", "nodes", "policies", "stores", "tools")
ENV_NAME = re.compile(
    r"[\"']((?:SAFE_AGENT|OPENAI|LANGSMITH|LANGGRAPH|LANGCHAIN|ANTHROPIC)_[A-Z0-9_]+)[\"']"
)


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _dockerfile() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_the_license_is_mit_and_declared() -> None:
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert _pyproject()["project"]["license"] == "MIT"


def test_the_package_says_it_is_typed() -> None:
    assert (ROOT / "safe_agent" / "py.typed").exists()
    assert "py.typed" in _pyproject()["tool"]["setuptools"]["package-data"]["safe_agent"]


def test_env_example_names_every_variable_the_code_reads() -> None:
    read = {
        name
        for folder in CODE
        for path in (ROOT / folder).rglob("*.py")
        for name in ENV_NAME.findall(path.read_text())
    }
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read and sorted(read - listed) == []


def test_the_dockerfile_runs_unprivileged_with_a_healthcheck_on_the_real_route() -> None:
    lines = _dockerfile()
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    [check] = [line for line in lines if line.startswith("HEALTHCHECK ")]
    [cmd] = [line for line in lines if line.startswith("CMD ")]
    [expose] = [line.split()[1] for line in lines if line.startswith("EXPOSE ")]
    route = re.search(r"127\.0\.0\.1:(\d+)(/\w+)", check)
    assert route and route.group(1) == expose and f'"{expose}"' in cmd
    assert f'Route("{route.group(2)}"' in (ROOT / "graph" / "http.py").read_text()
    assert "safe_agent.graph.http:app" in (ROOT / "langgraph.json").read_text()


def test_the_dockerfile_copies_what_exists_and_installs_a_declared_extra() -> None:
    lines = _dockerfile()
    sources = [s for line in lines if line.startswith("COPY ") for s in line.split()[1:-1]]
    assert sources and [s for s in sources if not (ROOT / s.rstrip("/")).exists()] == []
    copied = {s.rstrip("/") for s in sources}
    package_dirs = set(_pyproject()["tool"]["setuptools"]["package-dir"].values())
    assert package_dirs <= copied and "pyproject.toml" in copied
    [install] = [line for line in lines if line.startswith("RUN pip install")]
    extra = re.search(r"\.\[(\w+)\]", install)
    assert extra and extra.group(1) in _pyproject()["project"]["optional-dependencies"]
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv/", "var/", ".git/"} <= set(ignored)  # no local data or keys in the image


def test_the_changelog_has_the_version_being_built() -> None:
    version = _pyproject()["project"]["version"]
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## [{version}]" in changelog and "## [Unreleased]" in changelog


def test_make_test_lints_and_checks_the_format_at_line_length_100() -> None:
    ruff = _pyproject()["tool"]["ruff"]
    assert ruff["line-length"] <= 100
    makefile = (ROOT / "Makefile").read_text()
    test_rule = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "ruff check" in test_rule and "ruff format --check" in test_rule
