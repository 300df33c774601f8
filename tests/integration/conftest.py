"""Start and stop the Studio server (`langgraph dev`) for end-to-end tests.

The server runs the repository's langgraph.json with every relative path re-rooted at the
repository, from a working folder under the test's tmp_path. That folder matters: the in-memory
runtime keeps its thread and run records in `./.langgraph_api` relative to its working folder
(the path is hard-coded), so running from the repository root would read and overwrite a
developer's own Studio threads, and two test runs would overwrite each other's. The graph's data
(audit, desk, Studio checkpoints) goes to $SAFE_AGENT_HOME, also under tmp_path.

The server authenticates (langgraph.json `auth.path` → graph/auth.py): tests add principals to
its directory with `StudioServer.add_principal` (before or after start) and call with
`StudioServer.client(key)`. `module_server` shares one server across a module's tests;
`start_studio_server(env)` starts one with extra environment (e.g. `SAFE_AGENT_CONFIG`).

Nothing phones home: CLI analytics, the PyPI version check and LangSmith tracing are off, no
provider or LangSmith keys are passed, and `.env.studio` is not loaded (it overrides the
environment, so a local key there could switch the test to a real model or another data folder).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
LANGGRAPH_BIN = REPO_ROOT / ".venv" / "bin" / "langgraph"
STARTUP_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 20.0
RUN_TIMEOUT_S = 60.0

_DROPPED_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "SAFE_AGENT_CONFIG",
    "LANGSMITH_API_KEY",
    "LANGCHAIN_API_KEY",
    "LANGSMITH_ENDPOINT",
    "LANGCHAIN_ENDPOINT",
    "LANGGRAPH_CLOUD_LICENSE_KEY",
    "LANGSMITH_CONTROL_PLANE_API_KEY",
    "LANGGRAPH_API_KEY",
    "LANGGRAPH_AES_KEY",
    "SAFE_AGENT_DATA_KEY",
    "SAFE_AGENT_DATA_KEY_FILE",
    "SAFE_AGENT_API_KEY",
)
_OFFLINE_ENV = {
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    "LANGGRAPH_NO_VERSION_CHECK": "true",
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGSMITH_TRACING_V2": "false",
    "PYTHONUNBUFFERED": "1",
    "NO_COLOR": "1",
}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_TERMINAL_RUN_STATES = {"success", "error", "timeout", "interrupted"}


def free_port() -> int:
    """Return a loopback port nobody is listening on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _reroot(value: str) -> str:
    """Make a langgraph.json path ('./graph/studio.py:graph', '.') absolute under the repository."""
    if value.startswith("."):
        file, sep, attr = value.partition(":")
        return str((REPO_ROOT / file).resolve()) + sep + attr
    return value


def studio_config() -> dict[str, Any]:
    """The repository's langgraph.json, paths re-rooted at the repository and without `env`."""
    config = json.loads((REPO_ROOT / "langgraph.json").read_text())
    config["dependencies"] = [_reroot(d) for d in config.get("dependencies", [])]
    config["graphs"] = {name: _reroot(spec) for name, spec in config["graphs"].items()}
    for section in ("checkpointer", "auth"):
        if section in config and "path" in config[section]:
            config[section] = {**config[section], "path": _reroot(config[section]["path"])}
    config.pop("env", None)
    return config


class StudioServer:
    """One `langgraph dev` process at a time on a fixed working folder and data folder."""

    def __init__(self, workdir: Path, data: Path, env: dict[str, str] | None = None) -> None:
        """Prepare the folders; `env` is set for the server on top of the offline defaults.

        `env` is the one way in for variables dropped from the test's own environment, e.g.
        `SAFE_AGENT_CONFIG` pointing at a config written by the test.
        """
        self.workdir = workdir
        self.data = data
        self.extra_env = dict(env or {})
        self.log_path = workdir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self.starts = 0
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "langgraph.json").write_text(json.dumps(studio_config(), indent=2))

    @property
    def url(self) -> str:
        assert self.port is not None, "server not started"
        return f"http://127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
        env.update(_OFFLINE_ENV)
        env["SAFE_AGENT_HOME"] = str(self.data)
        env.update(self.extra_env)
        return env

    def start(self) -> None:
        """Start the server on a fresh port and wait (bounded) until /ok answers."""
        assert self.process is None or self.process.poll() is not None, "server already running"
        self.port = free_port()
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start {self.starts} on port {self.port} =====\n".encode())
            self.process = subprocess.Popen(
                [
                    str(LANGGRAPH_BIN),
                    "dev",
                    "--no-browser",
                    "--no-reload",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                cwd=self.workdir,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"langgraph dev exited with {self.process.returncode} before /ok:\n"
                    f"{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/ok", timeout=2) as response:
                    if response.status == 200 and json.loads(response.read()).get("ok"):
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
                pass
            time.sleep(0.2)
        self.stop()
        pytest.fail(
            f"langgraph dev did not answer /ok within {STARTUP_TIMEOUT_S:.0f} s:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        """Stop the server's process group: SIGTERM (graceful, flushes records), then SIGKILL."""
        process, self.process = self.process, None
        if process is None:
            return
        pgid = process.pid  # start_new_session=True: the server leads its own process group
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass
        try:  # whatever is left of the group, including any child the server started
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=STOP_TIMEOUT_S)

    def restart(self) -> None:
        """Stop the server and start it again on the same working and data folders."""
        self.stop()
        self.start()

    def add_principal(
        self,
        principal_id: str,
        *,
        role: str,
        tenant: str | None = None,
        groups: tuple[str, ...] = (),
    ) -> str:
        """Add a principal to the server's directory (before or after start); return its API key."""
        from safe_agent.stores.principals import PrincipalDirectory

        directory = PrincipalDirectory(self.data / "principals.sqlite")
        _record, key = directory.add(
            principal_id, role=role, tenant=tenant, groups=groups, now=time.time()
        )
        return key

    def client(
        self,
        key: str | None = None,
        *,
        api_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """A sync SDK client for this server, sending `key` as `Authorization: Bearer` (if given).

        `api_key` goes out as `x-api-key` (the SDK's own way, as agent-chat-ui does). With
        `api_key=None` the SDK does not pick a LangGraph/LangSmith key up from the environment.
        """
        from langgraph_sdk import get_sync_client

        sent = dict(headers or {})
        if key is not None:
            sent["Authorization"] = f"Bearer {key}"
        return get_sync_client(url=self.url, api_key=api_key, headers=sent, timeout=30.0)

    def run(self, client: Any, thread_id: str, **kwargs: Any) -> dict[str, Any]:
        """Create a safe_agent run on the thread, poll until it ends, return it (never raises)."""
        run = client.runs.create(thread_id, "safe_agent", **kwargs)
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while run["status"] not in _TERMINAL_RUN_STATES:
            if time.monotonic() > deadline:
                pytest.fail(
                    f"run {run['run_id']} still {run['status']} after {RUN_TIMEOUT_S:.0f} s:\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.1)
            run = client.runs.get(thread_id, run["run_id"])
        return run

    def log_tail(self, chars: int = 12_000) -> str:
        """The end of the server's log, without colour codes."""
        try:
            text = self.log_path.read_bytes().decode(errors="replace")
        except OSError:
            return "(no server log)"
        return _ANSI.sub("", text)[-chars:]


@pytest.fixture
def studio_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StudioServer]:
    """A started Studio server on tmp_path (data in tmp_path/var); always stopped afterwards."""
    yield from _started_server(request, tmp_path)


@pytest.fixture(scope="module")
def module_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StudioServer]:
    """One started Studio server shared by a module's tests (each start costs seconds)."""
    yield from _started_server(request, tmp_path_factory.mktemp("server"))


@pytest.fixture
def start_studio_server(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Callable[[dict[str, str]], StudioServer]:
    """Return a starter of one Studio server on tmp_path with extra environment (stopped after).

    For a test that must choose the server's environment, e.g. its `SAFE_AGENT_CONFIG`.
    """

    def start(env: dict[str, str]) -> StudioServer:
        return next(_started_server(request, tmp_path, env))

    return start


def _started_server(
    request: pytest.FixtureRequest, root: Path, env: dict[str, str] | None = None
) -> Iterator[StudioServer]:
    if not LANGGRAPH_BIN.exists():
        pytest.skip(f"{LANGGRAPH_BIN} is missing: run `make test` to install the dev extras")
    server = StudioServer(root / "studio", root / "var", env=env)
    request.addfinalizer(server.stop)
    server.start()
    yield server
