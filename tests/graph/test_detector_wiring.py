"""The operator's second-layer detector, named in config, judges user input and tool output.

The phrase rules pass both texts below; only the detector (a stand-in classifier that flags the
word "pineapple") can refuse them, so each assertion fails if the detector is not wired in.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import answer, make_config, tool_call

from safe_agent import build_services
from safe_agent.chat_models import ScriptedChatModel
from safe_agent.errors import ConfigError
from safe_agent.tools.support_desk import PACK

DETECTOR = """
class Pineapple:
    def score(self, text: str) -> float:
        return 0.9 if "pineapple" in text.lower() else 0.0

def make():
    return Pineapple()
"""


@pytest.fixture
def detector_entry(tmp_path: Path) -> str:
    (tmp_path / "pine_detector.py").write_text(DETECTOR)
    return f"{tmp_path / 'pine_detector.py'}:make"


def test_config_detector_refuses_input_the_rules_pass(make_agent, detector_entry: str) -> None:
    model = ScriptedChatModel(replies=[answer("ok")])
    agent = make_agent(model=model, config=make_config(input={"detector": detector_entry}))
    refused = agent.run("I would like a pineapple pizza", user_id="u-1", role="read")
    assert refused.status == "halted" and refused.reason_code == "prompt_injection"
    assert model.calls == []  # the model never saw it
    assert agent.run("where is order 1001?", user_id="u-1", role="read").status == "answered"


def test_config_detector_withholds_tool_output_strings(make_agent, detector_entry: str) -> None:
    model = ScriptedChatModel(replies=[tool_call("search_kb", query="refund"), answer("ok")])
    agent = make_agent(
        model=model,
        config=make_config(input={"detector": detector_entry}),
        tools=PACK.only("search_kb"),
    )
    desk = agent.services.resources["desk_db_path"]
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(desk)) as db, db:
        db.execute("UPDATE kb_articles SET body = body || ' Pineapple protocol applies.'")
    agent.run("how do refunds work?", user_id="u-1", role="read")
    envelope = json.loads(model.calls[1][-1].content)
    assert envelope.get("withheld"), envelope
    assert "pineapple" not in json.dumps(envelope["data"]).lower()


def test_a_detector_entry_that_is_not_a_detector_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "nodet.py").write_text("THING = 3\n")
    with pytest.raises(ConfigError, match="has no score"):
        build_services(
            root=tmp_path, config=make_config(input={"detector": f"{tmp_path}/nodet.py:THING"})
        )
