"""LangSmith tracing end to end.

The real langsmith client uploads to a recording server on loopback.

Nothing of langsmith or LangChain is mocked. A stdlib HTTP server on 127.0.0.1 plays the LangSmith
API (`GET /info`, then `/runs`, `/runs/batch` or `/runs/multipart`, compressed or not) and keeps
every request body; the offline agent runs with `LANGSMITH_TRACING=true` pointed at it. A socket
guard fails any connection that is not to loopback, so a trace can never leave the machine.

The control test turns redaction off and sees the raw e-mail arrive: the detection has teeth.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from helpers import FAST_RETRY, answer, make_config
from langchain_core.tracers.langchain import wait_for_all_tracers
from langsmith import run_trees as ls_run_trees
from langsmith import utils as ls_utils

from safe_agent import SafeAgent, tracing
from safe_agent.chat_models import ScriptedChatModel
from safe_agent.policies.pii_config import PiiConfig

pytestmark = pytest.mark.timeout(60)

EMAIL = "ada.lovelace@example.com"  # in the seeded desk: the customer of order 1001
PHONE = "555-0100"
API_KEY = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"
SECRETS = (EMAIL, PHONE, API_KEY)
NODES = {
    "validate_input",
    "budget_check",
    "breaker_check",
    "reason",
    "authorize",
    "execute_tool",
    "validate_output",
    "audit",
}
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}
_LANGSMITH_ENV = (
    "LANGSMITH_TRACING",
    "LANGSMITH_TRACING_V2",
    "LANGCHAIN_TRACING_V2",
    "LANGCHAIN_TRACING",
    "LANGSMITH_ENDPOINT",
    "LANGCHAIN_ENDPOINT",
    "LANGSMITH_API_KEY",
    "LANGCHAIN_API_KEY",
    "LANGSMITH_PROJECT",
    "LANGCHAIN_PROJECT",
    "LANGSMITH_RUNS_ENDPOINTS",
    "LANGSMITH_WORKSPACE_ID",
    "LANGSMITH_OTEL_ENABLED",
    "LANGSMITH_DISABLE_RUN_COMPRESSION",
)
AgentFactory = Callable[..., SafeAgent]


@dataclass
class Received:
    """One request the fake LangSmith got, body already decompressed."""

    method: str
    path: str
    content_type: str
    body: bytes


@dataclass
class FakeLangSmith:
    """A recording LangSmith stand-in on loopback."""

    url: str
    requests: list[Received] = field(default_factory=list)

    def ingest(self) -> list[Received]:
        return [
            r for r in self.requests if r.method in ("POST", "PATCH") and r.path.startswith("/runs")
        ]

    def all_bodies(self) -> bytes:
        return b"\n".join(r.body for r in self.requests)

    def runs(self) -> dict[str, dict[str, Any]]:
        """Every run received, by id, with its post and patch fields merged (later wins)."""
        runs: dict[str, dict[str, Any]] = {}

        def merge(run: dict[str, Any]) -> None:
            merged = runs.setdefault(str(run["id"]), {})
            for key, value in run.items():
                if key == "extra" and isinstance(value, dict):
                    extra = merged.setdefault("extra", {})
                    for k, v in value.items():
                        extra[k] = {**extra.get(k, {}), **v} if isinstance(v, dict) else v
                elif value is not None:
                    merged[key] = value

        for req in self.ingest():
            if req.content_type.startswith("multipart/"):
                for run in _multipart_runs(req):
                    merge(run)
            else:
                data = json.loads(req.body)
                for run in (
                    (data.get("post") or []) + (data.get("patch") or [])
                    if "post" in data or "patch" in data
                    else [data]
                ):
                    merge(run)
        return runs


def _multipart_runs(req: Received) -> list[dict[str, Any]]:
    """Parse LangSmith's multipart ingest.

    Parts `post.<id>`, `patch.<id>`, `post.<id>.inputs`, ...
    """
    message = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + req.content_type.encode() + b"\r\n\r\n" + req.body
    )
    runs: dict[str, dict[str, Any]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        _op, _, rest = str(name).partition(".")
        run_id, _, field_name = rest.partition(".")
        value = json.loads(payload) if payload else None
        run = runs.setdefault(run_id, {"id": run_id})
        if field_name:
            run[field_name] = value
        elif isinstance(value, dict):
            run.update(value)
    return list(runs.values())


def _decompress(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "zstd":
        import zstandard

        with zstandard.ZstdDecompressor().stream_reader(body) as reader:
            return reader.read()
    assert not encoding, f"unexpected Content-Encoding {encoding!r}"
    return body


@pytest.fixture
def fake_langsmith() -> Iterator[FakeLangSmith]:
    """Start the recording server; stop it afterwards."""
    server_ref: dict[str, FakeLangSmith] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _reply(self, payload: Any, status: int = 200) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _record(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = _decompress(raw, (self.headers.get("Content-Encoding") or "").lower())
            server_ref["s"].requests.append(
                Received(self.command, self.path, self.headers.get("Content-Type") or "", body)
            )

        def do_GET(self) -> None:  # noqa: N802
            server_ref["s"].requests.append(Received("GET", self.path, "", b""))
            if self.path.startswith("/info"):
                self._reply({"version": "0.0.0-test", "instance_flags": {}})
            else:
                self._reply({}, 404)

        def do_POST(self) -> None:  # noqa: N802
            self._record()
            self._reply({})

        do_PATCH = do_POST

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_ref["s"] = FakeLangSmith(url=f"http://127.0.0.1:{httpd.server_port}")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield server_ref["s"]
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record every outgoing socket connection; refuse any that is not to loopback."""
    seen: list[Any] = []
    real_connect = socket.socket.connect

    def guarded(sock: socket.socket, address: Any) -> Any:
        seen.append(address)
        host = address[0] if isinstance(address, tuple) else address
        if host not in _LOOPBACK:
            raise OSError(
                f"test guard: connection to {address!r} refused, traces must stay on loopback"
            )
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    return seen


@pytest.fixture
def langsmith_env(
    monkeypatch: pytest.MonkeyPatch, fake_langsmith: FakeLangSmith
) -> Iterator[Callable[..., None]]:
    """Return a switch that points LangSmith at the fake server, with tracing on or off.

    langsmith caches environment lookups and its default client, so both are cleared around the
    test; the clients `safe_agent.tracing` made are flushed and closed afterwards.
    """
    for name in _LANGSMITH_ENV:
        monkeypatch.delenv(name, raising=False)
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)  # never route 127.0.0.1 through a proxy
    monkeypatch.setattr(
        ls_run_trees, "_CLIENT", None
    )  # a default client must be built from this env

    def switch(enabled: bool, flag: str = "LANGSMITH_TRACING") -> None:
        if enabled:
            monkeypatch.setenv(flag, "true")
        monkeypatch.setenv("LANGSMITH_ENDPOINT", fake_langsmith.url)
        monkeypatch.setenv("LANGSMITH_API_KEY", "test-key")
        monkeypatch.setenv("LANGSMITH_PROJECT", "safe-agent-tests")
        ls_utils.get_env_var.cache_clear()
        ls_utils.get_tracer_project.cache_clear()

    tracing.reset()
    yield switch
    tracing.reset()
    ls_utils.get_env_var.cache_clear()
    ls_utils.get_tracer_project.cache_clear()


@pytest.fixture
def tracer_types(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the class of every LangChainTracer built, to catch LangChain adding its own."""
    from langchain_core.tracers.langchain import LangChainTracer

    built: list[str] = []
    real_init = LangChainTracer.__init__

    def spy(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(type(self).__name__)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(LangChainTracer, "__init__", spy)
    return built


def _flush_all() -> None:
    """Flush our clients and LangChain's default one, so a leak through either has arrived."""
    tracing.flush()
    wait_for_all_tracers()


def _run_traced_conversation(agent: SafeAgent, fake: FakeLangSmith) -> str:
    """Two runs on one thread: a tool result with PII, then a message with an API key.

    Returns the thread.
    """
    first = agent.run(
        "Who is the contact for order 1001?", user_id="u-trace", role="read", session_id="s-42"
    )
    assert first.status == "answered", first
    second = agent.run(
        f"My OpenAI key is {API_KEY}, what is the status of order 1001?",
        user_id="u-trace",
        role="read",
        thread_id=first.thread_id,
        session_id="s-42",
    )
    assert second.status in ("answered", "halted"), second
    _flush_all()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(
        r.get("name") == "audit" and r.get("end_time") for r in fake.runs().values()
    ):
        time.sleep(0.05)
    return first.thread_id


def test_traced_runs_carry_names_identity_and_verdicts_but_no_secret(
    make_agent: AgentFactory,
    fake_langsmith: FakeLangSmith,
    langsmith_env: Callable[..., None],
    connections: list[Any],
    tracer_types: list[str],
) -> None:
    langsmith_env(True)
    agent = make_agent()
    thread_id = _run_traced_conversation(agent, fake_langsmith)

    assert fake_langsmith.ingest(), (
        f"no run was uploaded; requests: {[(r.method, r.path) for r in fake_langsmith.requests]}"
    )
    # Nothing secret anywhere in what was sent; the placeholders prove the data did flow.
    everything = fake_langsmith.all_bodies()
    for secret in SECRETS:
        assert secret.encode() not in everything, f"{secret!r} was sent to LangSmith"
    for placeholder in ("[REDACTED_EMAIL]", "[REDACTED_PHONE]", "[REDACTED_API_KEY]"):
        assert placeholder.encode() in everything, (
            f"{placeholder} missing: the secret never reached the trace"
        )

    runs = fake_langsmith.runs()
    names = {run.get("name") for run in runs.values()}
    assert NODES <= names, f"missing node runs: {NODES - names}"

    tops = [run for run in runs.values() if not run.get("parent_run_id")]
    assert len(tops) == 2 and all(run["name"] == "safe_agent" for run in tops), [
        r.get("name") for r in tops
    ]
    for top in tops:
        assert {"safe-agent", "role:read"} <= set(top.get("tags") or [])
        metadata = top["extra"]["metadata"]
        assert metadata["user_id"] == "u-trace" and metadata["role"] == "read"
        assert metadata["thread_id"] == thread_id and metadata["session_id"] == "s-42"
        assert metadata.get("ls_integration") == "langgraph"

    # Node runs: what they guard, their verdicts, and the audit log's run id for cross-reference.
    authorize = next(r for r in runs.values() if r.get("name") == "authorize")
    node_md = authorize["extra"]["metadata"]
    assert node_md["safety_concern"] == "authorization" and node_md["user_id"] == "u-trace"
    assert {
        "decision": "allow",
        "policy_id": node_md["verdicts"][0]["policy_id"],
    }.items() <= node_md["verdicts"][0].items()
    audit_run_ids = {row["run_id"] for row in agent.audit(thread_id=thread_id)}
    assert node_md["audit_run_id"] in audit_run_ids
    execute = next(r for r in runs.values() if r.get("name") == "execute_tool")
    assert execute["extra"]["metadata"]["safety_concern"] == "tool_execution"

    # Only the redacting tracer ran (LangChain did not add its own), and only loopback was dialled.
    assert tracer_types and set(tracer_types) == {"RedactingTracer"}, tracer_types
    assert all((a[0] if isinstance(a, tuple) else a) in _LOOPBACK for a in connections), connections


@pytest.mark.parametrize("flag", ["LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2"])
def test_model_repr_in_serialized_is_redacted_too(
    make_agent: AgentFactory,
    fake_langsmith: FakeLangSmith,
    langsmith_env: Callable[..., None],
    connections: list[Any],
    tracer_types: list[str],
    flag: str,
) -> None:
    """A model that is not LangChain-serializable is sent as its repr, which may hold anything.

    Also with the legacy flag: whichever variable turns LangChain's tracing on, ours is the tracer.
    """
    langsmith_env(True, flag)
    reply = f"Write to {EMAIL} or call {PHONE}; the key is {API_KEY}."
    agent = make_agent(model=ScriptedChatModel(replies=[answer(reply)]))
    assert agent.run("Hello", user_id="u-trace", role="read").status == "answered"
    _flush_all()
    everything = fake_langsmith.all_bodies()
    assert b'"serialized"' in everything or b'.serialized"' in everything, (
        "no model run was uploaded"
    )
    for secret in SECRETS:
        assert secret.encode() not in everything, f"{secret!r} was sent to LangSmith"
    assert set(tracer_types) == {"RedactingTracer"}, tracer_types


def test_control_without_redaction_the_raw_secrets_arrive(
    make_agent: AgentFactory,
    fake_langsmith: FakeLangSmith,
    langsmith_env: Callable[..., None],
    connections: list[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server and parser see leaks when there are leaks: with redaction off, they do."""
    langsmith_env(True)
    monkeypatch.setattr(tracing, "redact_for_trace", lambda data: data)
    monkeypatch.setattr(tracing, "_scrub", lambda run: None)
    # and the input policy, which keeps these values out of the graph altogether (`[input.pii]`)
    raw = {kind: "allow" for kind in PiiConfig.model_fields if kind != "tool_output"}
    agent = make_agent(
        config=make_config(retry=FAST_RETRY, input={"pii": {**raw, "tool_output": False}})
    )
    _run_traced_conversation(agent, fake_langsmith)
    everything = fake_langsmith.all_bodies()
    assert all(secret.encode() in everything for secret in SECRETS)


def test_tracing_off_creates_no_client_and_sends_nothing(
    make_agent: AgentFactory,
    fake_langsmith: FakeLangSmith,
    langsmith_env: Callable[..., None],
    connections: list[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    langsmith_env(False)  # endpoint and key set, tracing not
    import langsmith

    clients: list[Any] = []
    real_init = langsmith.Client.__init__

    def spy(self: Any, *args: Any, **kwargs: Any) -> None:
        clients.append(kwargs)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(langsmith.Client, "__init__", spy)
    assert not tracing.tracing_enabled()
    config = tracing.run_config("t-1", None)
    assert "callbacks" not in config and config["run_name"] == "safe_agent"

    agent = make_agent()
    result = agent.run(
        f"Who is the contact for order 1001? My key is {API_KEY}", user_id="u-off", role="read"
    )
    assert result.status in ("answered", "halted")
    _flush_all()
    time.sleep(0.2)  # give a stray background upload the chance to show up

    assert clients == [], "a LangSmith client was created with tracing off"
    assert fake_langsmith.requests == [], [(r.method, r.path) for r in fake_langsmith.requests]
    port = int(fake_langsmith.url.rsplit(":", 1)[1])
    stray = [
        a for a in connections if not isinstance(a, tuple) or a[0] not in _LOOPBACK or a[1] == port
    ]
    assert stray == [], f"connections attempted with tracing off: {stray}"
