"""Docs are tested.

The README starts with the two commands, its diagram is the graph's, every CLI command is
documented.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from docs_blocks import SHELL, blocks

from safe_agent.cli import cli

ROOT = Path(__file__).resolve().parents[1]


def test_readme_opens_with_the_two_commands() -> None:
    first_block = next(b for b in blocks(ROOT / "README.md") if b.lang in SHELL)
    commands = [line.split("#")[0].strip() for line in first_block.code.strip().splitlines()]
    assert commands == ["make demo", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_readme_diagram_is_generated_from_the_graph() -> None:
    block = next(b.code for b in blocks(ROOT / "README.md") if b.lang == "mermaid")
    assert block.strip() == CliRunner().invoke(cli, ["graph"]).stdout.strip()


def test_every_cli_command_has_help_and_a_docs_section() -> None:
    docs = (ROOT / "docs" / "cli.md").read_text()
    for name, command in cli.commands.items():
        assert command.help and "Example:" in command.help, name
        assert f"## {name}" in docs, name


def test_readme_first_principal_snippet_runs_as_written(tmp_path: Path) -> None:
    """The README's first-principal block, run line by line.

    Bootstrap, export the key, add people.
    """
    import json
    import shlex

    block = next(b.code for b in blocks(ROOT / "README.md") if "principals bootstrap" in b.code)
    env = {"SAFE_AGENT_HOME": str(tmp_path / "home")}
    ran, key = [], ""
    for line in block.strip().splitlines():
        command = line.split("#")[0].strip()
        if command.startswith("export SAFE_AGENT_API_KEY="):
            env["SAFE_AGENT_API_KEY"] = key
            continue
        args = shlex.split(command)
        assert args[0] == "safe-agent", command
        out = CliRunner().invoke(cli, args[1:], env=env)
        assert out.exit_code == 0, (command, out.output)
        if args[1:3] == ["principals", "bootstrap"]:
            key = json.loads(out.stdout)["api_key"]
        ran.append(args[1:3])
    assert ran.count(["principals", "add"]) == 2
    listed = CliRunner().invoke(cli, ["principals", "list", "--json"], env=env)
    assert {p["id"] for p in json.loads(listed.stdout)} == {"ops-1", "u-123", "approver-7"}


def test_readme_config_examples_are_valid_configs() -> None:
    import tomllib

    from safe_agent.policies.config import SafetyConfig

    tomls = [b.code for b in blocks(ROOT / "README.md") if b.lang == "toml"]
    assert tomls
    for block in tomls:
        SafetyConfig.model_validate(tomllib.loads(block))


def test_resilience_config_example_builds_the_ladder_it_describes(
    tmp_path: Path, monkeypatch
) -> None:
    """docs/resilience.md's config loads.

    It builds a primary, two fallbacks (one read-only) and a cheap model.
    """
    import tomllib

    from safe_agent.policies.config import SafetyConfig
    from safe_agent.settings import build_services

    [block] = [b.code for b in blocks(ROOT / "docs" / "resilience.md") if b.lang == "toml"]
    config = SafetyConfig.model_validate(tomllib.loads(block))
    monkeypatch.setenv("GATEWAY_KEY", "gw-key")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")  # the primary and the cheap model use it
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    services = build_services(config=config, root=tmp_path / "var")
    assert [(s.name, s.level, s.read_only) for s in services.fallbacks] == [
        ("gpt-4.1-mini", "fallback", False),
        ("offline-planner", "fallback", True),
    ]
    assert services.cheap is not None and services.cheap.breaker == "model:openai:gpt-4.1-mini"
    assert services.fallbacks[0].model.openai_api_base == "https://gateway.example/v1"
    monkeypatch.delenv("GATEWAY_KEY")
    from safe_agent.errors import ConfigError

    try:
        build_services(config=config, root=tmp_path / "var2")
    except ConfigError as exc:
        assert str(exc) == "model.fallbacks[0].api_key_env: $GATEWAY_KEY is not set"
    else:
        raise AssertionError("a fallback whose key is missing must be a config error")
