"""Loading the tool set through `build_services`: config entries, packs, the operator's policies.

What Python, the CLI and Studio share is `build_services`; every case goes through it, and every
bad configuration must come back as one `ConfigError` line naming the entry or tool at fault.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from helpers import make_config

from safe_agent.errors import ConfigError
from safe_agent.policies.config import ToolPolicy
from safe_agent.policies.verdict import Role, Tier
from safe_agent.settings import build_services
from safe_agent.tools.adapters import tool_from_function
from safe_agent.tools.pack import ToolPack

USER_PACK = '''
from pathlib import Path

from safe_agent.tools import ToolCallContext, ToolPack, ToolPolicy, tool_from_function


def note(text: str, ctx: ToolCallContext) -> dict:
    """Keep a note for the team."""
    Path(ctx.resource("notes_file")).write_text(text)
    return {"saved": True}


def _setup(root: Path) -> dict:
    return {"notes_file": str(root / "notes.txt")}


PACK = ToolPack(
    name="notes",
    tools=(tool_from_function(note, policy=ToolPolicy(tier="reversible", sinks=())),),
    system_prompt="You keep the team's notes.",
    setup=_setup,
)


def shout(text: str) -> str:
    """Shout the text."""
    return text.upper()


LOOSE = [shout]
'''


def ping(host: str) -> str:
    """Ping a host."""
    return host


def _pack_file(tmp_path: Path, text: str = USER_PACK, name: str = "user_pack.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def _load(tmp_path: Path, *entries: str, **policies: dict) -> dict:
    config = make_config(tools={"load": list(entries), "policies": policies})
    return build_services(config=config, root=tmp_path / "var").tools


def _config_error(tmp_path: Path, *entries: str, **policies: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, *entries, **policies)
    message = str(caught.value)
    assert "\n" not in message and message
    return message


def test_default_load_is_the_demo_desk(tmp_path: Path) -> None:
    services = build_services(config=make_config(), root=tmp_path / "var")
    assert "search_kb" in services.tools and (tmp_path / "var" / "desk.sqlite").exists()


def test_file_entry_loads_a_pack_with_its_prompt_and_resources(tmp_path: Path) -> None:
    path = _pack_file(tmp_path)
    config = make_config(tools={"load": [f"{path}:PACK", f"{path}:LOOSE"]})
    services = build_services(config=config, root=tmp_path / "var")
    assert sorted(services.tools) == ["note", "shout"]
    assert services.system_prompt == "You keep the team's notes."
    assert services.resources == {"notes_file": str(tmp_path / "var" / "notes.txt")}
    assert services.tools["note"].tier is Tier.REVERSIBLE
    assert services.tools["shout"].tier is Tier.IRREVERSIBLE  # a loose function: fail closed
    assert not (tmp_path / "var" / "desk.sqlite").exists()  # the desk pack was not loaded


def test_module_entry_loads_an_importable_attribute(tmp_path: Path) -> None:
    tools = _load(tmp_path, "safe_agent.tools.support_desk:PACK")
    assert {"search_kb", "issue_refund"} <= set(tools)
    only = _load(tmp_path / "2", "tests.tools.test_tool_loading:ping")
    assert list(only) == ["ping"]


def test_operator_policy_replaces_the_code_policy(tmp_path: Path) -> None:
    path = _pack_file(tmp_path)
    tools = _load(tmp_path, f"{path}:PACK", note={"tier": "read_only", "required_role": "read"})
    assert tools["note"].policy == ToolPolicy(tier=Tier.READ_ONLY, required_role=Role.READ)
    assert tools["note"].sinks == ("text",)  # replaced, not merged: the code's sinks=() is gone


def test_operator_policy_also_applies_to_tools_passed_in_python(tmp_path: Path) -> None:
    config = make_config(
        tools={"policies": {"ping": {"tier": "read_only", "required_role": "read"}}}
    )
    services = build_services(config=config, root=tmp_path / "var", tools=[ping])
    assert (services.tools["ping"].tier, services.tools["ping"].required_role) == (
        Tier.READ_ONLY,
        Role.READ,
    )


def test_pack_may_hold_plain_functions(tmp_path: Path) -> None:
    pack = ToolPack(name="mixed", tools=(ping, tool_from_function(ping, name="ping2")))  # type: ignore[arg-type]
    services = build_services(config=make_config(), root=tmp_path / "var", tools=pack)
    assert sorted(services.tools) == ["ping", "ping2"]


def test_duplicate_tool_names_are_a_config_error(tmp_path: Path) -> None:
    path = _pack_file(tmp_path)
    message = _config_error(tmp_path, f"{path}:PACK", f"{path}:PACK")
    assert "'note' is already loaded" in message
    with pytest.raises(ConfigError, match="'ping' is already loaded"):
        build_services(config=make_config(), root=tmp_path / "var", tools=[ping, ping])


@pytest.mark.parametrize(
    ("policies", "expected"),
    [
        ({"nope": {"tier": "read_only"}}, "tools.policies.nope: no tool of that name is loaded"),
        (
            {"ping": {"sinks": ["port"]}},
            "tools.policies.ping: ping: sinks ['port'] are not arguments",
        ),
    ],
    ids=["unknown-tool", "unknown-sink"],
)
def test_bad_policy_is_a_one_line_config_error(
    tmp_path: Path, policies: dict, expected: str
) -> None:
    assert expected in _config_error(tmp_path, "tests.tools.test_tool_loading:ping", **policies)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("safe_agent.tools.support_desk", "must look like module:attribute"),
        (":PACK", "must look like module:attribute"),
        ("no_such_module_xyz:PACK", "cannot import: No module named 'no_such_module_xyz'"),
        ("safe_agent.tools.support_desk:NOPE", "has no 'NOPE'"),
        ("/no/such/file.py:PACK", "tool file /no/such/file.py does not exist"),
        ("safe_agent.tools.support_desk:SYSTEM_PROMPT", "cannot use str as a tool"),
        ("tests.tools.test_tool_loading:_pack_file", "needs a description"),
    ],
    ids=[
        "no-colon",
        "no-module",
        "missing-module",
        "missing-attr",
        "missing-file",
        "not-a-tool",
        "no-docstring",
    ],
)
def test_bad_entry_is_a_one_line_config_error(tmp_path: Path, entry: str, expected: str) -> None:
    assert expected in _config_error(tmp_path, entry)


def test_broken_file_is_reported_and_can_be_fixed(tmp_path: Path) -> None:
    path = _pack_file(tmp_path, "def broken(:\n", name="broken_pack.py")
    assert "cannot import: invalid syntax" in _config_error(tmp_path, f"{path}:PACK")
    _pack_file(tmp_path, USER_PACK, name="broken_pack.py")  # fixed: the failure was not cached
    assert "note" in _load(tmp_path / "again", f"{path}:PACK")
