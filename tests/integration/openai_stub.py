"""A scripted, local OpenAI-compatible HTTP server for integration tests.

The real `openai` SDK (through `langchain_openai.ChatOpenAI`) talks HTTP to this server, so the
tests exercise the actual request building, error mapping, timeouts and response parsing; nothing
of the SDK is mocked. The server is a stdlib `ThreadingHTTPServer` on 127.0.0.1, port 0, run in a
daemon thread.

Usage::

    with running_stub() as stub:
        stub.script(tool_call("search_kb", {"query": "refunds"}), text("Refunds take 5 days."))
        ... OPENAI_BASE_URL = stub.base_url ...
        assert len(stub.requests) == 2

or the `openai_stub` pytest fixture (import it into a test module), which always shuts down.

Each scripted step answers one `POST /v1/chat/completions` (or `/chat/completions`):

* `tool_call(name, args)` / `tool_calls(...)`: a completion with `finish_reason: "tool_calls"`;
* `text(content)`: a completion with `finish_reason: "stop"`;
* `http_error(status)`: an OpenAI error JSON body (429 carries `retry-after: 0`);
* `delay(seconds, then)`: wait, then answer with `then` (to trigger a client timeout);
* `malformed(body)`, `invalid_json()`, `missing_choices()`: a 200 with a broken body.

Every completion carries `usage`. Every request is recorded (path, headers, parsed JSON body).
When the script is used up, the server repeats the last step served, or `default` if one is set.

Streaming, exactly like OpenAI: a request whose body says `"stream": true` gets a completion step
answered as `text/event-stream` (chunked): `data: {chat.completion.chunk}` events carrying the
content (or `delta.tool_calls` for a tool-call step) piece by piece, a last chunk with the
`finish_reason`, then, ONLY when `stream_options.include_usage` is true, one more chunk with
`choices: []` and the step's `usage`, then `data: [DONE]`. Errors stay plain JSON errors, as with
OpenAI. `OpenAIStub(honor_include_usage=False)` plays a gateway that never sends the usage chunk.
`stub.served` lists what each completion answered (its usage, and whether usage was sent).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

COMPLETION_PATHS = ("/v1/chat/completions", "/chat/completions")
DEFAULT_USAGE = (100, 20)

_ERROR_TYPES = {
    400: ("invalid_request_error", "invalid_value", "Invalid value for 'messages'."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", "unsupported_country_region_territory", "Forbidden."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests."),
    500: ("server_error", None, "The server had an error while processing your request."),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The engine is currently overloaded."),
}


# --------------------------------------------------------------------------- script steps


@dataclass(frozen=True)
class Step:
    """One scripted answer. Build steps with the helper functions below, not directly."""

    kind: str  # completion | error | raw | delay
    status: int = 200
    body: Any = None  # dict for completion/error, bytes for raw
    headers: tuple[tuple[str, str], ...] = ()
    seconds: float = 0.0
    then: Step | None = None


def _usage(prompt_tokens: int, completion_tokens: int, cached_tokens: int) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if cached_tokens:
        usage["prompt_tokens_details"] = {"cached_tokens": cached_tokens}
    return usage


def _completion(
    message: dict[str, Any], finish_reason: str, usage: tuple[int, int], cached_tokens: int
) -> Step:
    body = {
        "object": "chat.completion",
        "choices": [
            {"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}
        ],
        "usage": _usage(usage[0], usage[1], cached_tokens),
        "system_fingerprint": "fp_openai_stub",
    }
    return Step("completion", body=body)


def text(content: str, *, usage: tuple[int, int] = DEFAULT_USAGE, cached_tokens: int = 0) -> Step:
    """A final text answer (`finish_reason: "stop"`).

    `usage` = (prompt_tokens, completion_tokens).
    """
    message = {"role": "assistant", "content": content, "refusal": None}
    return _completion(message, "stop", usage, cached_tokens)


def tool_calls(
    *calls: tuple[str, dict[str, Any]] | tuple[str, dict[str, Any], str],
    usage: tuple[int, int] = DEFAULT_USAGE,
    cached_tokens: int = 0,
) -> Step:
    """A completion asking for one or more tool calls: each call is (name, args[, call_id])."""
    out = []
    for i, call in enumerate(calls):
        name, args = call[0], call[1]
        call_id = call[2] if len(call) > 2 else f"call_stub_{i}"  # type: ignore[misc]
        out.append(
            {
                "id": call_id,
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(args)},
            }
        )
    message = {"role": "assistant", "content": None, "refusal": None, "tool_calls": out}
    return _completion(message, "tool_calls", usage, cached_tokens)


def tool_call(
    name: str,
    args: dict[str, Any],
    *,
    call_id: str = "call_stub_0",
    usage: tuple[int, int] = DEFAULT_USAGE,
    cached_tokens: int = 0,
) -> Step:
    """A completion asking for exactly one tool call."""
    return tool_calls((name, args, call_id), usage=usage, cached_tokens=cached_tokens)


def http_error(status: int, message: str | None = None, *, retry_after: str | None = None) -> Step:
    """An HTTP error with an OpenAI-style error body.

    A 429 says `retry-after: 0` unless told otherwise.
    """
    err_type, code, default_message = _ERROR_TYPES.get(
        status, ("api_error", None, f"HTTP {status}")
    )
    headers: list[tuple[str, str]] = []
    if retry_after is None and status == 429:
        retry_after = "0"
    if retry_after is not None:
        headers.append(("retry-after", retry_after))
    body = {
        "error": {
            "message": message or default_message,
            "type": err_type,
            "param": None,
            "code": code,
        }
    }
    return Step("error", status=status, body=body, headers=tuple(headers))


def delay(seconds: float, then: Step | None = None) -> Step:
    """Wait `seconds` before answering with `then` (a short text answer by default)."""
    return Step("delay", seconds=seconds, then=then or text("late answer"))


def malformed(
    body: bytes | str, *, status: int = 200, content_type: str = "application/json"
) -> Step:
    """Answer with exactly these bytes, claiming `content_type`."""
    raw = body.encode() if isinstance(body, str) else body
    return Step("raw", status=status, body=raw, headers=(("content-type", content_type),))


def invalid_json() -> Step:
    """A 200 whose body claims to be JSON but is not."""
    return malformed(b'{"id": "chatcmpl-broken", "choices": [')


def missing_choices() -> Step:
    """A 200 with valid JSON that lacks `choices` (but still reports usage)."""
    return malformed(
        json.dumps(
            {
                "id": "chatcmpl-nochoices",
                "object": "chat.completion",
                "created": 0,
                "model": "gpt-4o-mini",
                "usage": _usage(*DEFAULT_USAGE, 0),
            }
        )
    )


# --------------------------------------------------------------------------- the server


@dataclass(frozen=True)
class RecordedRequest:
    """What the stub received: method, path, lower-cased headers, and the parsed JSON body."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    received_at: float = field(default_factory=time.monotonic)

    @property
    def stream(self) -> bool:
        """Whether the client asked for a streamed answer (`"stream": true`)."""
        return isinstance(self.body, dict) and self.body.get("stream") is True

    @property
    def include_usage(self) -> bool:
        """Whether a streaming client asked for the usage chunk (`stream_options.include_usage`)."""
        return isinstance(self.body, dict) and bool(
            (self.body.get("stream_options") or {}).get("include_usage")
        )

    @property
    def tool_names(self) -> list[str]:
        """Names of the tools sent with the request (empty if none)."""
        if not isinstance(self.body, dict):
            return []
        return [t.get("function", {}).get("name") for t in self.body.get("tools") or []]


@dataclass(frozen=True)
class Served:
    """One completion the stub answered: its usage (what a provider bills), streamed, usage sent."""

    prompt_tokens: int
    completion_tokens: int
    streamed: bool
    usage_sent: bool
    finish_reason: str


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # a burst of concurrent clients must not overflow the listen backlog
    daemon_threads = True


class OpenAIStub:
    """A scripted OpenAI-compatible server.

    Thread-safe; start with `start()` or `running_stub()`.
    """

    def __init__(self, *, default: Step | None = None, honor_include_usage: bool = True) -> None:
        """Create a stopped stub.

        `default` answers once the script is used up (else the last step repeats).

        `honor_include_usage=False`: streamed answers never carry the usage chunk, even when asked.
        """
        self.default = default
        self.honor_include_usage = honor_include_usage
        self._served: list[Served] = []
        self._queue: deque[Step] = deque()
        self._last: Step | None = None
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # scripting -------------------------------------------------------------

    def script(self, *steps: Step) -> OpenAIStub:
        """Append steps to the queue of answers, in order."""
        with self._lock:
            self._queue.extend(steps)
        return self

    def reset(self) -> None:
        """Forget the queue, the last step and the recorded requests."""
        with self._lock:
            self._queue.clear()
            self._last = None
            self._requests.clear()
            self._served.clear()

    def _next_step(self) -> Step:
        with self._lock:
            if self._queue:
                self._last = self._queue.popleft()
                return self._last
            if self.default is not None:
                return self.default
            return self._last or text("(openai_stub: nothing scripted)")

    # inspection ------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def served(self) -> list[Served]:
        """Every completion answered so far (not errors), in order (a copy)."""
        with self._lock:
            return list(self._served)

    @property
    def completion_requests(self) -> list[RecordedRequest]:
        """Only the chat-completion requests."""
        return [r for r in self.requests if r.path.rstrip("/") in COMPLETION_PATHS]

    @property
    def port(self) -> int:
        """The port the server listens on (only while running)."""
        assert self._server is not None, "stub is not running"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """What to put in OPENAI_BASE_URL."""
        return f"http://127.0.0.1:{self.port}/v1"

    # lifecycle -------------------------------------------------------------

    def start(self) -> OpenAIStub:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server(
            ("127.0.0.1", 0), _make_handler(self)
        )  # daemon threads: a delayed handler never blocks shutdown
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name="openai-stub",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Wake any delayed handler, stop serving and close the socket. Safe to call twice."""
        self._stopping.set()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> OpenAIStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # serving ---------------------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _resolve(self, step: Step) -> Step | None:
        """Wait out any delay steps; None if the stub is stopping meanwhile."""
        while step.kind == "delay":
            if self._stopping.wait(step.seconds):
                return None
            assert step.then is not None
            step = step.then
        return step

    def _note_served(self, step: Step, *, streamed: bool, usage_sent: bool) -> None:
        usage = step.body.get("usage") or {}
        finish = step.body["choices"][0].get("finish_reason") or ""
        with self._lock:
            self._served.append(
                Served(
                    int(usage.get("prompt_tokens", 0)),
                    int(usage.get("completion_tokens", 0)),
                    streamed,
                    usage_sent,
                    finish,
                )
            )

    def _answer(self, step: Step, model: str) -> tuple[int, list[tuple[str, str]], bytes]:
        """Turn a step into status, headers and body bytes (after any delay)."""
        resolved = self._resolve(step)
        if resolved is None:
            return 503, [], b""
        step = resolved
        headers = [("content-type", "application/json"), *step.headers]
        if step.kind == "raw":
            return step.status, list(step.headers), step.body
        body = dict(step.body)
        if step.kind == "completion":
            body = {
                "id": f"chatcmpl-stub-{next(self._ids)}",
                "created": int(time.time()),
                "model": model,
                **body,
            }
            self._note_served(step, streamed=False, usage_sent=True)
        return step.status, headers, json.dumps(body).encode()

    def _stream_events(self, step: Step, model: str, include_usage: bool) -> list[bytes]:
        """A completion step as OpenAI's SSE events.

        Role, content or tool-call pieces, finish, [usage], [DONE].
        """
        choice = step.body["choices"][0]
        message, finish = choice["message"], choice["finish_reason"]
        send_usage = include_usage and self.honor_include_usage
        base: dict[str, Any] = {
            "id": f"chatcmpl-stub-{next(self._ids)}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": step.body.get("system_fingerprint"),
            "service_tier": "default",
        }
        if include_usage:
            # OpenAI puts `usage: null` on every chunk but the last when usage is asked for
            base["usage"] = None

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            return {
                **base,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
                ],
            }

        chunks: list[dict[str, Any]] = []
        calls = message.get("tool_calls") or []
        if calls:
            for index, call in enumerate(calls):
                head = {
                    "index": index,
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": call["function"]["name"], "arguments": ""},
                }
                delta: dict[str, Any] = {"tool_calls": [head]}
                if index == 0:
                    delta = {"role": "assistant", "content": None, "refusal": None, **delta}
                chunks.append(chunk(delta))
                arguments = call["function"]["arguments"]
                for piece in _pieces(arguments, 7):
                    chunks.append(
                        chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
                    )
        else:
            chunks.append(chunk({"role": "assistant", "content": "", "refusal": None}))
            for piece in _pieces(message.get("content") or "", 9):
                chunks.append(chunk({"content": piece}))
        chunks.append(chunk({}, finish))
        if send_usage:
            chunks.append({**base, "choices": [], "usage": step.body["usage"]})
        self._note_served(step, streamed=True, usage_sent=send_usage)
        return [f"data: {json.dumps(c)}\n\n".encode() for c in chunks] + [b"data: [DONE]\n\n"]


def _pieces(text: str, size: int) -> list[str]:
    """Cut `text` into pieces of at most `size` characters, as a token stream would."""
    return [text[i : i + size] for i in range(0, len(text), size)]


def _make_handler(stub: OpenAIStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "openai-stub/1.0"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output clean
            pass

        def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            try:
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.send_header("connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (e.g. it timed out while we were delaying)
            self.close_connection = True

        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body: Any = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            headers = {k.lower(): v for k, v in self.headers.items()}
            path = self.path.split("?", 1)[0]
            recorded = RecordedRequest("POST", path, headers, body)
            stub._record(recorded)
            if path.rstrip("/") not in COMPLETION_PATHS:
                missing = http_error(404, f"openai_stub: no route for POST {path}")
                self._send(
                    404, [("content-type", "application/json")], json.dumps(missing.body).encode()
                )
                return
            model = body.get("model", "gpt-4o-mini") if isinstance(body, dict) else "gpt-4o-mini"
            step = stub._next_step()
            if recorded.stream:
                resolved = stub._resolve(step)
                if resolved is None:
                    self._send(503, [], b"")
                    return
                if resolved.kind == "completion":
                    self._send_stream(stub._stream_events(resolved, model, recorded.include_usage))
                    return
                step = resolved
            self._send(*stub._answer(step, model))

        def _send_stream(self, events: list[bytes]) -> None:
            """Send SSE events one HTTP chunk each (Transfer-Encoding: chunked), then close."""
            try:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream; charset=utf-8")
                self.send_header("cache-control", "no-cache")
                self.send_header("transfer-encoding", "chunked")
                self.send_header("connection", "close")
                self.end_headers()
                for event in events:
                    self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True

        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            stub._record(
                RecordedRequest(
                    "GET", self.path, {k.lower(): v for k, v in self.headers.items()}, None
                )
            )
            missing = http_error(404, f"openai_stub: no route for GET {self.path}")
            self._send(
                404, [("content-type", "application/json")], json.dumps(missing.body).encode()
            )

    return Handler


@contextmanager
def running_stub(
    *steps: Step, default: Step | None = None, honor_include_usage: bool = True
) -> Iterator[OpenAIStub]:
    """Run a stub scripted with `steps` for the duration of the block; it is always shut down."""
    stub = OpenAIStub(default=default, honor_include_usage=honor_include_usage).script(*steps)
    stub.start()
    try:
        yield stub
    finally:
        stub.stop()


@pytest.fixture
def openai_stub() -> Iterator[OpenAIStub]:
    """A running, empty stub for one test (script it with `openai_stub.script(...)`)."""
    with running_stub() as stub:
        yield stub
