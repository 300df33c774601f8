"""Postgres fixtures: a fresh database per test on the session's throwaway server, and the backend
parameter the flow tests run under (SQLite, then PostgreSQL through the one setting)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from safe_agent.database import DATABASE_URL_ENV


@pytest.fixture
def pg_database(postgres_url: str) -> Iterator[str]:
    """The URL of an empty database made for this test alone, dropped afterwards.

    One database per test: pending() lists every paused thread of a database, and each test's
    data folder has its own key, so tests sharing one database would see each other's threads.
    """
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.slow)])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """Run the test on SQLite (the setting unset) and on PostgreSQL (the setting set); returns
    the URL in use, or None for SQLite."""
    if request.param == "sqlite":
        return None
    url = request.getfixturevalue("pg_database")
    monkeypatch.setenv(DATABASE_URL_ENV, url)
    return url
