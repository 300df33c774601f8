"""Tool retries are safe: only transient failures, only tools that cannot repeat their effect.

Every attempt goes through the tool's breaker (re-checked before it goes out, its outcome
counted), is charged the tool's price and is audited. A real local HTTP service (stdlib
`ThreadingHTTPServer`) plays the flaky dependency behind tools built with `tool_from_function`
that call it with urllib, as a user's own tool would.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from helpers import FAST_RETRY, answer, make_config, tool_call
from langchain_core.messages import ToolMessage

from safe_agent import SafeAgent
from safe_agent.chat_models import ScriptedChatModel
from safe_agent.nodes._budget import charge_tool_call
from safe_agent.policies.config import ToolPolicy
from safe_agent.policies.verdict import Role, Tier
from safe_agent.tools.adapters import tool_from_function
from safe_agent.tools.spec import ToolCallContext, ToolFailure, ToolSpec

READ = ToolPolicy(tier=Tier.READ_ONLY, required_role=Role.READ, idempotent=True)


class OrderService:
    """A local HTTP service that fails on script, then answers 200.

    `script` holds one (status, headers) per request, in order; when it runs out every request
    gets 200. A POST applies its effect (a row in `effects`) before it answers, so a failure
    status after it is "done, but the answer was lost". A POST with an `Idempotency-Key` seen
    before is answered from the stored result and applies nothing (how payment APIs dedupe).
    """

    def __init__(self) -> None:
        self.script: list[tuple[int, dict[str, str]]] = []
        self.requests: list[tuple[str, str, str | None]] = []
        self.effects: list[str] = []
        self.seen: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                service.requests.append((self.command, self.path, None))
                service.answer(self, {"order": self.path.rsplit("/", 1)[-1], "status": "shipped"})

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                key = self.headers.get("Idempotency-Key")
                with service.lock:
                    service.requests.append((self.command, self.path, key))
                    if key is not None and key in service.seen:
                        return service.reply(self, 200, {}, service.seen[key])
                    service.effects.append(self.path)
                    body = {"refund": len(service.effects), "path": self.path}
                    if key is not None:
                        service.seen[key] = body
                service.answer(self, body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        with self.lock:
            status, headers = self.script.pop(0) if self.script else (200, {})
        self.reply(handler, status, headers, body if status == 200 else {"error": "unavailable"})

    def reply(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        headers: dict[str, str],
        body: dict[str, Any],
    ) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)


@pytest.fixture
def service() -> Iterator[OrderService]:
    svc = OrderService()
    svc.thread.start()
    yield svc
    svc.server.shutdown()
    svc.server.server_close()


def order_status_tool(svc: OrderService) -> ToolSpec:
    def order_status(order_id: str) -> dict[str, Any]:
        """Read an order's shipping status from the order service."""
        with urllib.request.urlopen(f"{svc.url}/orders/{order_id}", timeout=5) as response:
            return json.loads(response.read())

    return tool_from_function(order_status, policy=READ)


def refund_tool(svc: OrderService, *, sends_key: bool) -> ToolSpec:
    """A write; with `sends_key` it passes the call's idempotency key and says so in its policy."""

    def refund(order_id: str, ctx: ToolCallContext) -> dict[str, Any]:
        """Refund an order through the payment service."""
        headers = {"Idempotency-Key": ctx.idempotency_key} if sends_key else {}
        request = urllib.request.Request(
            f"{svc.url}/refunds/{order_id}",
            data=b"{}",
            method="POST",
            headers={"Content-Type": "application/json", **headers},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    policy = ToolPolicy(
        tier=Tier.REVERSIBLE,
        required_role=Role.WRITE,
        sinks=("order_id",),
        accepts_idempotency_key=sends_key,
    )
    return tool_from_function(refund, policy=policy, name="refund_keyed" if sends_key else "refund")


class Flaky:
    """An in-process tool body that raises the given errors in turn, then answers."""

    def __init__(self, *failures: BaseException) -> None:
        self.failures, self.calls = list(failures), 0

    def __call__(self, order_id: str) -> dict[str, Any]:
        """Look an order up in the warehouse system."""
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return {"order": order_id, "bin": "A7"}


class HTTPError503(Exception):
    """A client library's error that carries an HTTP status, like httpx's or the OpenAI SDK's."""

    status_code = 503


def flaky_tool(body: Flaky, name: str = "warehouse_lookup") -> ToolSpec:
    return tool_from_function(body.__call__, policy=READ, name=name)


def run_once(
    make_agent: Any, tool: ToolSpec, args: dict[str, Any], role: str = "read", **kwargs: Any
) -> tuple[SafeAgent, Any, ScriptedChatModel, list[float]]:
    waits: list[float] = []
    model = ScriptedChatModel(replies=[tool_call(tool.name, **args), answer("done")])
    kwargs.setdefault("sleep", waits.append)
    agent = make_agent(model=model, tools=[tool], **kwargs)
    result = agent.run(f"please handle order {args.get('order_id')}", user_id="u-1", role=role)
    return agent, result, model, waits


def tool_message(model: ScriptedChatModel) -> ToolMessage:
    return next(m for m in model.calls[-1] if isinstance(m, ToolMessage))


def rows_of(agent: SafeAgent, result: Any, kind: str) -> list[dict[str, Any]]:
    return [r for r in agent.audit(thread_id=result.thread_id) if r["kind"] == kind]


def test_idempotent_read_is_retried_after_a_transient_failure_and_audited(make_agent) -> None:
    body = Flaky(ConnectionError("connection reset by peer"))
    agent, result, model, waits = run_once(make_agent, flaky_tool(body), {"order_id": "1001"})
    assert tool_message(model).status == "success" and body.calls == 2
    # [tools.retry] defaults: 0.2 s backoff plus up to 0.1 s of jitter
    assert len(waits) == 1 and 0.2 <= waits[0] <= 0.3
    (row,) = rows_of(agent, result, "tool_execution")
    assert (row["success"], row["retry_count"]) == (True, 1)
    assert row["input"]["attempts"] == [
        {"attempt": 1, "kind": "connection", "status": None, "waited_s": 0.0},
        {"attempt": 2, "kind": "ok", "status": None, "waited_s": round(waits[0], 3)},
    ]


def test_http_503_with_retry_after_is_honoured_through_a_real_server(make_agent, service) -> None:
    service.script = [(503, {"Retry-After": "2"})]
    agent, result, model, waits = run_once(
        make_agent, order_status_tool(service), {"order_id": "1001"}
    )
    assert json.loads(str(tool_message(model).content))["data"] == {
        "order": "1001",
        "status": "shipped",
    }
    assert len(service.requests) == 2 and waits == [2.0]  # Retry-After beats the 0.2 s backoff
    (row,) = rows_of(agent, result, "tool_execution")
    assert row["input"]["attempts"][0] == {
        "attempt": 1,
        "kind": "http",
        "status": 503,
        "waited_s": 0.0,
        "retry_after_s": 2.0,
    }
    assert row["input"]["attempts"][1]["waited_s"] == 2.0


def test_retry_after_beyond_the_cap_is_not_retried(make_agent, service) -> None:
    service.script = [(503, {"Retry-After": "60"})]  # the cap is 10 s
    agent, result, model, waits = run_once(
        make_agent, order_status_tool(service), {"order_id": "1001"}
    )
    assert tool_message(model).status == "error"
    assert (len(service.requests), waits) == (1, [])
    (row,) = rows_of(agent, result, "tool_execution")
    assert (row["retry_count"], row["input"]["retry_stopped"]) == (0, "retry_after_over_cap")


def test_a_write_is_retried_only_when_it_dedupes_on_the_idempotency_key(
    make_agent, service
) -> None:
    """The service commits each refund, then answers 503: the answer is lost, the effect is not."""
    service.script = [(503, {})]
    agent, result, model, waits = run_once(
        make_agent, refund_tool(service, sends_key=False), {"order_id": "1001"}, role="write"
    )
    assert (len(service.requests), len(service.effects), waits) == (1, 1, []), "never sent twice"
    assert tool_message(model).status == "error"
    (row,) = rows_of(agent, result, "tool_execution")
    assert row["input"]["retry_stopped"] == "not_retry_safe"

    service.script, service.effects, service.requests = [(503, {})], [], []
    agent, result, model, waits = run_once(
        make_agent, refund_tool(service, sends_key=True), {"order_id": "1002"}, role="write"
    )
    assert tool_message(model).status == "success"
    assert len(service.requests) == 2 and len({key for _, _, key in service.requests}) == 1
    assert service.effects == ["/refunds/1002"], "the retry was deduplicated on the key: one refund"
    assert rows_of(agent, result, "tool_execution")[0]["retry_count"] == 1


def test_transient_tool_failure_is_retried_and_a_plain_one_is_final_and_healthy(make_agent) -> None:
    busy = Flaky(
        ToolFailure("warehouse_busy", "The warehouse is busy.", transient=True, retry_after_s=0.5)
    )
    _, _, model, waits = run_once(make_agent, flaky_tool(busy), {"order_id": "1001"})
    assert (busy.calls, waits, tool_message(model).status) == (2, [0.5], "success")

    said_no = Flaky(ToolFailure("order_not_found", "No order 9."))
    agent, result, model, waits = run_once(
        make_agent, flaky_tool(said_no, "lookup_b"), {"order_id": "9"}
    )
    assert (said_no.calls, waits, tool_message(model).status) == (1, [], "error")
    assert agent.services.breakers.get("tool:lookup_b").consecutive_failures == 0


def test_a_breaker_that_opens_during_retries_stops_them_and_is_audited(make_agent) -> None:
    config = make_config(
        retry=FAST_RETRY,
        breaker={"failure_threshold": 2},
        tools={"retry": {"max_retries": 5, "base_delay_s": 0.0, "max_jitter_s": 0.0}},
    )
    body = Flaky(*[ConnectionError("refused")] * 10)
    agent, result, model, waits = run_once(
        make_agent, flaky_tool(body), {"order_id": "1001"}, config=config
    )
    assert body.calls == 2, "the attempt that opened the breaker is the last one to reach the tool"
    assert agent.services.breakers.get("tool:warehouse_lookup").phase.value == "open"
    (row,) = rows_of(agent, result, "tool_execution")
    assert (row["retry_count"], row["input"]["retry_stopped"], row["breaker_state"]) == (
        1,
        "breaker_open",
        "open",
    )
    (moved,) = rows_of(agent, result, "breaker_transition")
    assert (moved["node"], moved["reason_code"], moved["tool_call_id"]) == (
        "execute_tool",
        "breaker_open",
        row["tool_call_id"],
    )
    assert {
        k: moved["input"][k] for k in ("name", "before", "after", "cause", "consecutive_failures")
    } == {
        "name": "tool:warehouse_lookup",
        "before": "closed",
        "after": "open",
        "cause": "attempt_failed",
        "consecutive_failures": 2,
    }


def test_the_half_open_probe_is_one_attempt_not_one_call(make_agent) -> None:
    """After the cool-down one attempt probes the tool; when it fails, the call is not retried."""
    now = [1000.0]
    config = make_config(retry=FAST_RETRY, breaker={"failure_threshold": 1, "cooldown_s": 60})
    body = Flaky(*[ConnectionError("refused")] * 10)
    model = ScriptedChatModel(
        replies=[tool_call("warehouse_lookup", order_id="1001"), answer("done")]
    )
    agent = make_agent(model=model, tools=[flaky_tool(body)], config=config, clock=lambda: now[0])
    agent.services.breakers.record(
        "tool:warehouse_lookup", success=False, now=now[0], config=agent.services.config.breaker
    )
    now[0] += 61
    result = agent.run("where is order 1001", user_id="u-1", role="read")
    assert body.calls == 1
    moves = [
        (r["input"]["before"], r["input"]["after"], r["input"]["cause"])
        for r in rows_of(agent, result, "breaker_transition")
    ]
    assert moves == [
        ("open", "half_open", "probe_granted"),
        ("half_open", "open", "attempt_failed"),
    ]


def test_each_retry_rechecks_the_breaker_before_it_goes_out(make_agent) -> None:
    """Another worker opens the breaker while this call waits to retry: the retry does not go."""
    body = Flaky(*[TimeoutError("read timed out")] * 10)
    holder: list[SafeAgent] = []

    def other_workers_fail(seconds: float) -> None:
        services = holder[0].services
        for _ in range(services.config.breaker.failure_threshold):
            services.breakers.record(
                "tool:warehouse_lookup",
                success=False,
                now=services.clock(),
                config=services.config.breaker,
            )

    model = ScriptedChatModel(
        replies=[tool_call("warehouse_lookup", order_id="1001"), answer("done")]
    )
    agent = make_agent(model=model, tools=[flaky_tool(body)], sleep=other_workers_fail)
    holder.append(agent)
    result = agent.run("where is order 1001", user_id="u-1", role="read")
    assert body.calls == 1
    (row,) = rows_of(agent, result, "tool_execution")
    assert (row["reason_code"], row["input"]["retry_stopped"]) == ("tool_timeout", "breaker_open")


def test_every_attempt_is_charged_and_balances_with_the_result(make_agent) -> None:
    config = make_config(retry=FAST_RETRY, tools={"cost_usd": {"warehouse_lookup": 0.01}})
    body = Flaky(TimeoutError("slow"), HTTPError503())
    agent, result, _, _ = run_once(
        make_agent, flaky_tool(body), {"order_id": "1001"}, config=config
    )
    assert body.calls == 3
    (row,) = rows_of(agent, result, "tool_execution")
    assert row["cost_usd"] == pytest.approx(0.03) and row["retry_count"] == 2
    tool_spend = [r for r in agent.services.spend.rows(run_id=row["run_id"]) if r["kind"] == "tool"]
    assert sorted(r["settled_usd"] for r in tool_spend) == [0.01, 0.01, 0.01]
    model_cost = sum(
        r["cost_usd"] for r in agent.audit(thread_id=result.thread_id) if r["kind"] == "model_call"
    )
    assert result.cost_usd == pytest.approx(model_cost + 0.03)


def test_a_replayed_attempt_is_not_charged_twice(make_agent) -> None:
    config = make_config(retry=FAST_RETRY, tools={"cost_usd": {"warehouse_lookup": 0.01}})
    services = make_agent(config=config, tools=[flaky_tool(Flaky())]).services
    state: Any = {"run_id": "run-1", "principal": {"user_id": "u-1", "role": "read"}}
    call: Any = {"id": "call-1", "name": "warehouse_lookup", "args": {}}
    charges = [charge_tool_call(state, services, call, attempt) for attempt in (1, 2, 2, 1)]
    assert [cost for _, cost in charges] == [0.01] * 4  # each is allowed; a replay finds its row
    assert sorted(r["key"] for r in services.spend.rows(run_id="run-1")) == [
        "run-1:tool:call-1",
        "run-1:tool:call-1:2",
    ]
