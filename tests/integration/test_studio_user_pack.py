"""The Studio server loads the tool pack the operator's config names, and the graph calls it.

The config (`SAFE_AGENT_CONFIG`, a TOML under tmp_path) loads only a user's pack file whose
`search_kb` answers from a "team wiki" and logs each call to a file its setup placed in the data
folder. The offline planner proposes `search_kb` for a general question, so a run through the
real `langgraph dev` and the real SDK client shows three things only the user's pack can cause:
the wiki's answer, the log line (with the authenticated principal), and no desk file at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from safe_agent.stores.audit import AuditLog

if TYPE_CHECKING:
    from tests.integration.conftest import StudioServer

pytestmark = pytest.mark.slow

USER_PACK = '''
import json
from pathlib import Path

from safe_agent.tools import ToolCallContext, ToolPack, ToolPolicy, tool_from_function


def search_kb(query: str, ctx: ToolCallContext) -> dict:
    """Search the team wiki."""
    with Path(ctx.resource("wiki_log")).open("a") as log:
        log.write(json.dumps({"query": query, "user": ctx.user_id}) + "\\n")
    return {"articles": [{"title": "Team wiki", "snippet": "Deploys happen on Tuesdays."}]}


def _setup(root: Path) -> dict:
    return {"wiki_log": str(root / "wiki.jsonl")}


POLICY = ToolPolicy(tier="read_only", required_role="read", idempotent=True, sinks=())
PACK = ToolPack(
    name="team_wiki",
    tools=(tool_from_function(search_kb, policy=POLICY),),
    system_prompt="You answer questions from the team wiki.",
    setup=_setup,
)
'''
QUESTION = "How do deploys work here?"


def test_studio_server_runs_the_tool_pack_named_in_config(
    tmp_path: Path, start_studio_server: Callable[[dict[str, str]], StudioServer]
) -> None:
    pack = tmp_path / "team_wiki.py"
    pack.write_text(USER_PACK)
    config = tmp_path / "ops.toml"
    config.write_text(f'[tools]\nload = ["{pack}:PACK"]\n')
    server = start_studio_server({"SAFE_AGENT_CONFIG": str(config)})
    client = server.client(server.add_principal("u-wiki", role="read"))

    thread_id = client.threads.create()["thread_id"]
    input_ = {"messages": [{"role": "user", "content": QUESTION}]}
    run = server.run(client, thread_id, input=input_)
    assert run["status"] == "success", server.log_tail()

    messages = client.threads.get_state(thread_id)["values"]["messages"]
    assert (
        messages[-1]["content"] == "From the knowledge base, Team wiki: Deploys happen on Tuesdays."
    )
    lines = (server.data / "wiki.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [{"query": QUESTION, "user": "u-wiki"}]
    assert not (server.data / "desk.sqlite").exists()  # the demo pack was not loaded
    rows = AuditLog(server.data / "audit.sqlite").records(thread_id=thread_id)
    ran = [(r["tool_name"], r["success"]) for r in rows if r["node"] == "execute_tool"]
    assert ran == [("search_kb", True)]
