"""A scripted, local Anthropic-compatible HTTP server (the Messages API) for integration tests.

The real `anthropic` SDK (through `langchain_anthropic.ChatAnthropic`, built by
`init_chat_model`) talks HTTP to this server, so the tests exercise the SDK's own request
building, error mapping and SSE parsing; nothing of it is mocked. Like `openai_stub`, it is a
stdlib `ThreadingHTTPServer` on 127.0.0.1, port 0, in a daemon thread.

Each scripted step answers one `POST /v1/messages`:

* `text(content, usage=(input, output))`: a message with one text block, `stop_reason: end_turn`;
* `tool_use(name, input)`: a message with a `tool_use` block, `stop_reason: tool_use`;
* `error(status)`: an Anthropic error body (`{"type": "error", "error": {...}}`), with
  `retry-after` when asked (429 and 529 send `retry-after: 0` unless told otherwise);
* `delay(seconds, then)`: wait, then answer with `then`.

A request with `"stream": true` gets a message step as `text/event-stream`, the events the
Messages API sends: `message_start` (usage with the input tokens), `content_block_start`,
`ping`, `content_block_delta` (`text_delta` or `input_json_delta` pieces), `content_block_stop`,
`message_delta` (stop reason and usage), `message_stop`. `message_delta` carries the cumulative
usage the API reports today (input and output tokens); `AnthropicStub(delta_usage="output")`
plays a server that reports only `output_tokens` there, as the API's older event shape did,
leaving the input count in `message_start` alone. Errors stay plain JSON errors.
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
from typing import Any, Literal

import pytest

MESSAGES_PATH = "/v1/messages"
DEFAULT_USAGE = (100, 20)
_ERRORS = {
    400: ("invalid_request_error", "messages: roles must alternate"),
    401: ("authentication_error", "invalid x-api-key"),
    404: ("not_found_error", "model: not found"),
    429: ("rate_limit_error", "Number of request tokens has exceeded your rate limit."),
    500: ("api_error", "Internal server error"),
    529: ("overloaded_error", "Overloaded"),
}


@dataclass(frozen=True)
class Step:
    """One scripted answer; build it with the helpers below."""

    kind: str  # message | error | delay
    status: int = 200
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()
    seconds: float = 0.0
    then: Step | None = None


def _message(
    content: list[dict[str, Any]], stop_reason: str, usage: tuple[int, int], cache_read: int
) -> Step:
    body = {
        "type": "message",
        "role": "assistant",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": usage[0],
            "output_tokens": usage[1],
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": cache_read,
        },
    }
    return Step("message", body=body)


def text(content: str, *, usage: tuple[int, int] = DEFAULT_USAGE, cache_read: int = 0) -> Step:
    """A final answer: one text block; `usage` = (input_tokens, output_tokens) as billed."""
    return _message([{"type": "text", "text": content}], "end_turn", usage, cache_read)


def tool_use(
    name: str,
    args: dict[str, Any],
    *,
    call_id: str = "toolu_stub_0",
    usage: tuple[int, int] = DEFAULT_USAGE,
    preamble: str | None = None,
) -> Step:
    """A message asking for one tool call (a `tool_use` block), optionally after some text."""
    blocks: list[dict[str, Any]] = [{"type": "text", "text": preamble}] if preamble else []
    blocks.append({"type": "tool_use", "id": call_id, "name": name, "input": args})
    return _message(blocks, "tool_use", usage, 0)


def error(status: int, message: str | None = None, *, retry_after: str | None = None) -> Step:
    """An Anthropic error response; 429 and 529 say `retry-after: 0` unless told otherwise."""
    kind, default = _ERRORS.get(status, ("api_error", f"HTTP {status}"))
    if retry_after is None and status in (429, 529):
        retry_after = "0"
    headers = (("retry-after", retry_after),) if retry_after is not None else ()
    body = {"type": "error", "error": {"type": kind, "message": message or default}}
    return Step("error", status=status, body=body, headers=headers)


def delay(seconds: float, then: Step | None = None) -> Step:
    """Wait `seconds`, then answer with `then` (a short text by default)."""
    return Step("delay", seconds=seconds, then=then or text("late answer"))


@dataclass(frozen=True)
class RecordedRequest:
    """What the stub received: method, path, lower-cased headers, parsed JSON body."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    received_at: float = field(default_factory=time.monotonic)

    @property
    def stream(self) -> bool:
        """Whether the client asked for server-sent events."""
        return isinstance(self.body, dict) and self.body.get("stream") is True

    @property
    def tool_names(self) -> list[str]:
        """Names of the tools sent (Anthropic's `tools: [{name, input_schema}]`)."""
        return [t.get("name") for t in (self.body or {}).get("tools") or []]


@dataclass(frozen=True)
class Served:
    """One message the stub answered: the usage a provider would bill, and how it was sent."""

    input_tokens: int
    output_tokens: int
    streamed: bool
    stop_reason: str


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class AnthropicStub:
    """A scripted Messages API server; start with `running_stub()` or the fixture."""

    def __init__(self, *, delta_usage: Literal["full", "output"] = "full") -> None:
        """`delta_usage`: what `message_delta` reports, the full usage or only output_tokens."""
        self.delta_usage = delta_usage
        self._queue: deque[Step] = deque()
        self._last: Step | None = None
        self._requests: list[RecordedRequest] = []
        self._served: list[Served] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None

    def script(self, *steps: Step) -> AnthropicStub:
        """Append answers, in order; once used up the last one repeats."""
        with self._lock:
            self._queue.extend(steps)
        return self

    def _next_step(self) -> Step:
        with self._lock:
            if self._queue:
                self._last = self._queue.popleft()
            return self._last or text("(anthropic_stub: nothing scripted)")

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def served(self) -> list[Served]:
        """Every message answered so far, errors excluded (a copy)."""
        with self._lock:
            return list(self._served)

    @property
    def base_url(self) -> str:
        """The root URL to give the SDK (it appends `/v1/messages` itself)."""
        assert self._server is not None, "stub not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> None:
        """Listen on a free loopback port in a daemon thread."""
        self._server = _Server(("127.0.0.1", 0), _make_handler(self))
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop listening and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _finish(self, step: Step, model: str, streamed: bool) -> dict[str, Any]:
        body = {"id": f"msg_stub_{next(self._ids)}", "model": model, **step.body}
        usage = body["usage"]
        with self._lock:
            self._served.append(
                Served(usage["input_tokens"], usage["output_tokens"], streamed, body["stop_reason"])
            )
        return body

    def events(self, step: Step, model: str) -> list[bytes]:
        """A message step as the Messages API's SSE events, in the API's order."""
        body = self._finish(step, model, streamed=True)
        usage = body["usage"]
        start_usage = {**usage, "output_tokens": 1}  # the API's message_start counts one token
        head = {**body, "content": [], "stop_reason": None, "usage": start_usage}
        out = [("message_start", {"type": "message_start", "message": head})]
        for index, block in enumerate(body["content"]):
            if block["type"] == "text":
                opening, pieces = (
                    {"type": "text", "text": ""},
                    [{"type": "text_delta", "text": p} for p in _pieces(block["text"], 8)],
                )
            else:
                opening = {
                    "type": "tool_use",
                    "id": block["id"],
                    "name": block["name"],
                    "input": {},
                }
                pieces = [
                    {"type": "input_json_delta", "partial_json": p}
                    for p in _pieces(json.dumps(block["input"]), 6)
                ]
            out.append(
                (
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": opening},
                )
            )
            if index == 0:
                out.append(("ping", {"type": "ping"}))
            out += [
                ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d})
                for d in pieces
            ]
            out.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        delta_usage = (
            usage if self.delta_usage == "full" else {"output_tokens": usage["output_tokens"]}
        )
        out.append(
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "usage": delta_usage,
                    "delta": {"stop_reason": body["stop_reason"], "stop_sequence": None},
                },
            )
        )
        out.append(("message_stop", {"type": "message_stop"}))
        return [f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in out]


def _pieces(value: str, size: int) -> list[str]:
    return [value[i : i + size] for i in range(0, len(value), size)] or [""]


def _make_handler(stub: AnthropicStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet tests
            pass

        def _send(
            self,
            status: int,
            headers: tuple[tuple[str, str], ...],
            body: bytes,
            content_type: str = "application/json",
        ) -> None:
            try:
                self.send_response(status)
                for name, value in (("content-type", content_type), *headers):
                    self.send_header(name, value)
                self.send_header("request-id", f"req_stub_{next(stub._ids)}")
                self.send_header("content-length", str(len(body)))
                self.send_header("connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout while we were delaying)
            self.close_connection = True

        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            body = json.loads(raw) if raw else None
            recorded = RecordedRequest(
                "POST",
                self.path.split("?", 1)[0],
                {k.lower(): v for k, v in self.headers.items()},
                body,
            )
            stub._record(recorded)
            if recorded.path != MESSAGES_PATH:
                self._send(404, (), json.dumps(error(404).body).encode())
                return
            step = stub._next_step()
            while step.kind == "delay":
                time.sleep(step.seconds)
                step = step.then or text("late answer")
            if step.kind == "error":
                self._send(step.status, step.headers, json.dumps(step.body).encode())
            elif recorded.stream:
                events = b"".join(stub.events(step, body["model"]))
                self._send(200, (("cache-control", "no-cache"),), events, "text/event-stream")
            else:
                answer = stub._finish(step, body["model"], streamed=False)
                self._send(200, (), json.dumps(answer).encode())

    return Handler


@contextmanager
def running_stub(
    *steps: Step,
    delta_usage: Literal["full", "output"] = "full",
) -> Iterator[AnthropicStub]:
    """Run a stub scripted with `steps` for the block; it is always shut down."""
    stub = AnthropicStub(delta_usage=delta_usage).script(*steps)
    stub.start()
    try:
        yield stub
    finally:
        stub.stop()


@pytest.fixture
def anthropic_stub() -> Iterator[AnthropicStub]:
    """A running, empty stub for one test."""
    with running_stub() as stub:
        yield stub
