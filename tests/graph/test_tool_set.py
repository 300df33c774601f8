"""The tool set decides what exists: no demo desk file for other tools; prompt follows the pack."""

from __future__ import annotations

from pathlib import Path

from helpers import answer, make_config

from safe_agent import build_services
from safe_agent.chat_models import ScriptedChatModel
from safe_agent.graph.prompts import DATA_NOTE, GENERIC_PROMPT
from safe_agent.tools.support_desk import PACK, SYSTEM_PROMPT


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def test_other_tools_create_no_desk_and_get_the_generic_prompt(tmp_path: Path) -> None:
    services = build_services(root=tmp_path, tools=[add])
    assert not (tmp_path / "desk.sqlite").exists()
    assert set(services.tools) == {"add"} and services.system_prompt == GENERIC_PROMPT
    assert services.resources == {}


def test_the_desk_pack_creates_its_file_and_brings_its_prompt(tmp_path: Path) -> None:
    services = build_services(root=tmp_path)
    assert (tmp_path / "desk.sqlite").exists() and services.system_prompt == SYSTEM_PROMPT
    assert services.resources["desk_db_path"] == str(tmp_path / "desk.sqlite")


def test_the_operators_prompt_wins_and_the_data_note_is_always_sent(make_agent) -> None:
    model = ScriptedChatModel(replies=[answer("hi")])
    config = make_config(model={"system_prompt": "You help the Acme finance team."})
    agent = make_agent(model=model, config=config, tools=PACK.only("search_kb"))
    agent.run("hello", user_id="u-1", role="read")
    system = model.calls[0][0].content
    assert system.startswith("You help the Acme finance team.") and DATA_NOTE in system
    assert "online shop" not in system


def test_per_run_resources_cannot_replace_a_packs_own(tmp_path: Path) -> None:
    import pytest

    from safe_agent.errors import ConfigError

    with pytest.raises(ConfigError, match="desk_db_path"):
        build_services(root=tmp_path, resources={"desk_db_path": "/tmp/other.sqlite"})
