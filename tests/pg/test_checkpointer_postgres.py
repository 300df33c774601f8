"""Checkpoints on PostgreSQL through one setting: the flow, pending, encryption, bad URLs.

Each Postgres test gets an empty database on the session's throwaway server (tests/pg_server.py);
the flow tests run on both backends (`backend`: SQLite, then $SAFE_AGENT_DATABASE_URL set).
"""

from __future__ import annotations

import asyncio
import json
import operator
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Annotated, TypedDict

import psycopg
import pytest
from click.testing import CliRunner
from helpers import FAST_RETRY, answer, make_config, tool_call
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.graph import START, StateGraph
from psycopg.rows import dict_row

from safe_agent import SafeAgent, build_services
from safe_agent.chat_models import ScriptedChatModel
from safe_agent.checkpoints import CheckpointKeyError, checkpoint_serde
from safe_agent.cli import cli
from safe_agent.database import DATABASE_URL_ENV
from safe_agent.errors import ConfigError
from safe_agent.graph.services import Services
from safe_agent.settings import data_paths
from safe_agent.stores.principals import PrincipalDirectory

CHILD = Path(__file__).with_name("approve_child.py")
APPROVE = {"decisions": [{"type": "approve"}]}
CANARY = "marmalade-quokka"
"""A word that appears only in the conversation: finding it in the database means plain text."""


def _refunds(agent: SafeAgent) -> list[float]:
    with sqlite3.connect(agent.services.paths.desk) as conn:
        return [r[0] for r in conn.execute("select amount_usd from refunds")]


def _refund_model() -> ScriptedChatModel:
    def respond(messages):  # noqa: ANN001, ANN202 - the scripted model's hook
        if messages[-1].type == "tool":
            return answer("done")
        return tool_call("issue_refund", order_id="1001", amount_usd=1.0, reason=f"r {CANARY}")

    return ScriptedChatModel(respond=respond)


def _services(root: Path, **kwargs: object) -> Services:
    kwargs.setdefault("config", make_config(retry=FAST_RETRY))
    kwargs.setdefault("model", _refund_model())
    return build_services(root=root, sleep=lambda s: None, **kwargs)


def _agent(root: Path, **kwargs: object) -> SafeAgent:
    return SafeAgent(_services(root, **kwargs))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "var"  # = $SAFE_AGENT_HOME (tests/conftest.py), which the child inherits


@pytest.mark.slow
def test_pending_lists_paused_thread_given_a_postgres_saver(pg_database: str, home: Path) -> None:
    """The issue's repro: a SafeAgent handed a PostgresSaver. Before: `relation "writes" does not
    exist` (SQLite-only SQL in pending)."""
    with psycopg.connect(
        pg_database, autocommit=True, prepare_threshold=0, row_factory=dict_row
    ) as conn:
        services = _services(home)
        saver = PostgresSaver(conn, serde=checkpoint_serde(home))  # type: ignore[arg-type]
        saver.setup()
        agent = SafeAgent(services, checkpointer=saver)
        paused = agent.run(f"refund {CANARY}", user_id="u-1", role="write")
        assert paused.status == "paused"
        assert [p.thread_id for p in agent.pending()] == [paused.thread_id]


@pytest.mark.slow
def test_run_pause_approve_in_another_process_resumes(backend: str | None, home: Path) -> None:
    agent = _agent(home)
    paused = agent.run("refund order 1001", user_id="u-1", role="write")
    assert paused.status == "paused" and _refunds(agent) == []
    assert type(agent.checkpointer).__name__ == ("PostgresSaver" if backend else "SqliteSaver")
    child = subprocess.run(
        [sys.executable, str(CHILD), paused.thread_id],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
    )
    assert child.returncode == 0, child.stderr[-2000:]
    done = json.loads(child.stdout.strip().splitlines()[-1])
    assert done["saver"] == type(agent.checkpointer).__name__
    assert (done["status"], done["answer"]) == ("answered", "refund issued from the child")
    assert _refunds(agent) == [1.0]  # ran once, in the child
    now = agent.result(paused.thread_id)  # this process reads what the child wrote
    assert (now.status, now.answer) == ("answered", "refund issued from the child")
    assert agent.pending() == []
    again = agent.recover(paused.thread_id, operator_id="ops-1", operator_role="admin")
    assert again.status == "answered" and _refunds(agent) == [1.0]
    agent.close()


def test_pending_lists_exactly_the_paused_threads_on_both(backend: str | None, home: Path) -> None:
    def respond(messages):  # noqa: ANN001, ANN202
        if messages[-1].type == "tool" or "hello" in str(messages[-1].content):
            return answer("done")
        return tool_call("issue_refund", order_id="1001", amount_usd=1.0, reason="r")

    agent = _agent(home, model=ScriptedChatModel(respond=respond))
    answered = [agent.run("hello", user_id="u-1", role="read").thread_id for _ in range(2)]
    paused = [agent.run("refund", user_id="u-1", role="write").thread_id for _ in range(3)]
    agent.resume(paused[0], APPROVE, approver_id="a", approver_role="admin")
    assert sorted(p.thread_id for p in agent.pending()) == sorted(paused[1:])
    assert not set(answered) & {p.thread_id for p in agent.pending()}
    rows = agent.audit(thread_id=paused[0])  # lost-thread marking reads the checkpoint tables too
    assert rows and not any(r.get("thread_lost") for r in rows)
    agent.close()


def _stored_bytes(url: str) -> list[bytes]:
    """Every stored byte of the checkpoint tables, the JSON columns as text."""
    queries = (
        "SELECT blob FROM checkpoint_blobs WHERE blob IS NOT NULL",
        "SELECT blob FROM checkpoint_writes",
        "SELECT checkpoint::text::bytea FROM checkpoints",
        "SELECT metadata::text::bytea FROM checkpoints",
    )
    with psycopg.connect(url) as conn:
        return [bytes(row[0]) for q in queries for row in conn.execute(q).fetchall()]


@pytest.mark.slow
def test_postgres_checkpoints_hold_no_plain_conversation(
    pg_database: str, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DATABASE_URL_ENV, pg_database)
    agent = _agent(home)
    paused = agent.run(f"please refund order 1001, code {CANARY}", user_id="u-1", role="write")
    assert paused.status == "paused"
    agent.resume(paused.thread_id, APPROVE, approver_id="approver-7", approver_role="admin")
    stored = _stored_bytes(pg_database)
    assert len(stored) > 10 and not [b for b in stored if CANARY.encode() in b]
    with psycopg.connect(pg_database) as conn:
        types = {
            t
            for (t,) in conn.execute(
                "SELECT type FROM checkpoint_blobs UNION SELECT type FROM checkpoint_writes"
            ).fetchall()
        }
    assert types and all("+" in t for t in types if t not in ("empty", None)), types
    values = agent.graph.get_state(agent._config(paused.thread_id)).values
    assert CANARY in str(values["messages"][0].content)  # and it reads back decrypted
    agent.close()


@pytest.mark.slow
def test_lost_key_on_postgres_is_refused_not_replaced(
    pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second host (another data folder, no key) must not mint a fresh key over a database
    whose threads are encrypted: they would all become unreadable."""
    monkeypatch.setenv(DATABASE_URL_ENV, pg_database)
    first = _agent(tmp_path / "host-a")
    first.run("refund order 1001", user_id="u-1", role="write")
    first.close()
    other = tmp_path / "host-b"
    with pytest.raises(CheckpointKeyError) as err:
        _agent(other)
    assert "PostgreSQL checkpoints" in str(err.value) and "\n" not in str(err.value)
    assert not (other / "checkpoint.key").exists()
    shared = (tmp_path / "host-a" / "checkpoint.key").read_text()
    monkeypatch.setenv("SAFE_AGENT_DATA_KEY_FILE", str(tmp_path / "host-a" / "checkpoint.key"))
    reader = _agent(other)  # the same key on both hosts: host B lists host A's pause
    assert len(reader.pending()) == 1 and shared
    reader.close()


BAD_URLS = [
    pytest.param("mysql://u:s3cr3t-pw@127.0.0.1/db", "must be a postgresql:// URL", id="scheme"),
    pytest.param("postgresql://u:s3cr3t-pw@127.0.0.1:port/db", "malformed URL", id="port"),
    pytest.param("postgresql://u:s3cr3t-pw@[::1/db", "malformed URL", id="ipv6"),
    pytest.param("postgresql://u:s3cr3t-pw@127.0.0.1:1/db", "cannot connect to", id="refused"),
]


@pytest.mark.parametrize(("url", "needle"), BAD_URLS)
def test_bad_database_url_is_one_redacted_line(
    url: str, needle: str, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DATABASE_URL_ENV, url)
    with pytest.raises(ConfigError) as err:
        SafeAgent.open(home, model=_refund_model())
    text = str(err.value)
    assert needle in text and f"${DATABASE_URL_ENV}" in text, text
    assert "\n" not in text and "s3cr3t" not in text and "***" in text, text
    with pytest.raises(ConfigError) as arg:  # the argument is named as the argument
        SafeAgent.open(home, database_url=url, model=_refund_model())
    assert "database_url" in str(arg.value) and "s3cr3t" not in str(arg.value)


def _admin_key() -> str:
    return PrincipalDirectory(data_paths().principals).bootstrap("ops-1", now=1_800_000_000.0)[1]


def test_cli_bad_database_url_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    key = _admin_key()
    monkeypatch.setenv(DATABASE_URL_ENV, "postgresql://ops:s3cr3t-pw@127.0.0.1:1/db")
    result = CliRunner().invoke(cli, ["run", "hello"], env={"SAFE_AGENT_API_KEY": key})
    err = result.stderr
    assert result.exit_code == 1 and "Traceback" not in result.output + err, err
    assert len(err.strip().splitlines()) == 1 and DATABASE_URL_ENV in err and "s3cr3t" not in err


@pytest.mark.slow
def test_cli_runs_and_lists_pending_on_postgres(
    pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _admin_key()
    monkeypatch.setenv(DATABASE_URL_ENV, pg_database)
    runner = CliRunner()
    ran = runner.invoke(
        cli, ["run", "Please refund $25 on order 1001", "--json"], env={"SAFE_AGENT_API_KEY": key}
    )
    assert ran.exit_code == 0 and json.loads(ran.stdout)["status"] == "paused", ran.output
    listed = runner.invoke(cli, ["pending", "--json"], env={"SAFE_AGENT_API_KEY": key})
    assert listed.exit_code == 0, listed.output
    assert [p["thread_id"] for p in json.loads(listed.stdout)] == [
        json.loads(ran.stdout)["thread_id"]
    ]
    with psycopg.connect(pg_database) as conn:  # the pause is in Postgres, not in a local file
        (count,) = conn.execute("SELECT count(DISTINCT thread_id) FROM checkpoints").fetchone()
    assert count == 1 and not data_paths().checkpoints.exists()


class _Tiny(TypedDict):
    notes: Annotated[list[str], operator.add]


@pytest.mark.slow
def test_studio_checkpointer_uses_postgres_encrypted(
    pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safe_agent.graph.studio_checkpointer import checkpointer

    monkeypatch.setenv(DATABASE_URL_ENV, pg_database)
    graph = StateGraph(_Tiny).add_node("echo", lambda s: {"notes": ["seen"]})
    graph = graph.add_edge(START, "echo")

    async def scenario() -> list[str]:
        async with checkpointer() as saver:
            assert type(saver).__name__ == "AsyncPostgresSaver"
            app = graph.compile(checkpointer=saver)
            config = {"configurable": {"thread_id": "studio-1"}}
            await app.ainvoke({"notes": [CANARY]}, config)
            return (await app.aget_state(config)).values["notes"]

    assert asyncio.run(scenario()) == [CANARY, "seen"]
    assert not [b for b in _stored_bytes(pg_database) if CANARY.encode() in b]
