"""Shared fixtures: every test gets its own data folder and no provider or tracing environment."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.append(
    str(Path(__file__).parent)
)  # tests import tests/helpers.py as `helpers`; appended, never shadowing

from helpers import FAST_RETRY, make_config  # noqa: E402

from safe_agent import SafeAgent, build_services


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep tests offline and out of ./var: no API key, no tracing, data under tmp_path."""
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "LANGSMITH_TRACING",
        "LANGCHAIN_TRACING_V2",
        "LANGSMITH_API_KEY",
        "SAFE_AGENT_CONFIG",
        "LANGGRAPH_AES_KEY",
        "SAFE_AGENT_API_KEY",
        "SAFE_AGENT_DATA_KEY",
        "SAFE_AGENT_DATA_KEY_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SAFE_AGENT_HOME", str(tmp_path / "var"))


@pytest.fixture
def make_agent(tmp_path: Path) -> Iterator[Callable[..., SafeAgent]]:
    """Return a factory of SafeAgent instances on tmp_path/var; all are closed after the test.

    Keyword arguments go to `build_services` (config, model, model_name, clock, sleep, ...).
    Retries default to no backoff delay so tests stay fast.
    """
    agents: list[SafeAgent] = []

    def factory(**kwargs: Any) -> SafeAgent:
        kwargs.setdefault("config", make_config(retry=FAST_RETRY))
        kwargs.setdefault("sleep", lambda s: None)
        agent = SafeAgent(build_services(root=tmp_path / "var", **kwargs))
        agents.append(agent)
        return agent

    yield factory
    for agent in agents:
        agent.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """Start a throwaway PostgreSQL server (tests/pg_server.py) the first time a test asks, once
    per session, and stop it at the end; missing server binaries fail the test with one line."""
    import shutil
    import tempfile

    from pg_server import PgServerError, start

    folder = tempfile.mkdtemp(prefix="safe-agent-pg-")
    try:
        server = start(folder)
    except PgServerError as exc:
        reason = str(exc)
    else:
        yield server.url
        server.stop()
        return
    shutil.rmtree(folder, ignore_errors=True)
    pytest.fail(f"no test PostgreSQL server: {reason}", pytrace=False)


@pytest.fixture(autouse=True)
def _no_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep a developer's $SAFE_AGENT_DATABASE_URL out of the suite: tests wanting Postgres ask."""
    monkeypatch.delenv("SAFE_AGENT_DATABASE_URL", raising=False)
