"""`GET /health` (graph/http.py, langgraph.json `http.app`): keyless, public, honest, cheap.

The in-process tests drive the Starlette app directly; the slow one starts the real
`langgraph dev` once and probes it with plain urllib, as a load balancer would.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from safe_agent import SafeAgent
from safe_agent.settings import data_paths
from safe_agent.stores.principals import PrincipalDirectory
from safe_agent.stores.switches import KillSwitchStore

SECRET_REASON = "incident-4711-confidential"


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict, float]:
    request = urllib.request.Request(url, headers=headers or {})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    return status, json.loads(body), (time.perf_counter() - started) * 1000


def _percentiles(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return times[len(times) // 2], times[int(len(times) * 0.95)]


def test_the_app_is_public_to_anyone_and_full_to_an_admin(monkeypatch: pytest.MonkeyPatch) -> None:
    from starlette.testclient import TestClient

    import safe_agent.graph.http as http

    monkeypatch.setattr(http, "CACHE_S", 0.0)
    with SafeAgent.open() as agent:
        agent.run("What is the status of order 1001?", user_id="u-1", role="read")
    directory = PrincipalDirectory(data_paths().principals)
    admin = directory.bootstrap("ops-1", now=time.time())[1]
    writer = directory.add("w-1", role="write", now=time.time())[1]
    KillSwitchStore(data_paths().safety).switch_off(
        "user:u-9", reason=SECRET_REASON, set_by="ops-1", now=time.time()
    )
    client = TestClient(http.app)
    for headers in ({}, {"Authorization": f"Bearer {writer}"}, {"x-api-key": "sa_forged_x"}):
        response = client.get("/health", headers=headers)
        assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
        body = response.json()
        assert body["status"] == "degraded" and "home" not in body
        assert SECRET_REASON not in response.text and "u-9" not in response.text
    full = client.get("/health", headers={"Authorization": f"Bearer {admin}"}).json()
    assert full["home"] == str(data_paths().root) and SECRET_REASON in json.dumps(full)
    KillSwitchStore(data_paths().safety).switch_off(
        "all", reason="x", set_by="ops-1", now=time.time()
    )
    assert client.get("/health").status_code == 503


@pytest.mark.slow
def test_health_on_a_real_langgraph_dev(studio_server) -> None:  # noqa: ANN001 - fixture
    url = f"{studio_server.url}/health"
    status, body, _ = _get(url)
    assert status == 200 and body["status"] in ("ok", "degraded"), body
    assert set(body) == {"status", "checked_at", "duration_ms", "checks"}
    assert all(set(c) == {"name", "status", "detail"} for c in body["checks"])
    assert {"store:safety", "breakers", "kill_switches", "audit_anchor"} <= {
        c["name"] for c in body["checks"]
    }
    status, _, _ = _get(f"{studio_server.url}/threads/search")  # the rest still needs a key
    assert status in (401, 403, 405)

    times = [_get(url)[2] for _ in range(200)]
    p50, p95 = _percentiles(times)
    print(f"GET /health over 200 probes: p50 {p50:.2f} ms, p95 {p95:.2f} ms")
    assert p95 < 100.0, (p50, p95)

    switches = KillSwitchStore(Path(studio_server.data) / "safety.sqlite")
    switches.switch_off("all", reason=SECRET_REASON, set_by="ops-1", now=time.time())
    deadline = time.monotonic() + 10
    while (answer := _get(url))[0] != 503 and time.monotonic() < deadline:
        time.sleep(0.2)
    status, body, _ = answer
    assert status == 503 and body["status"] == "down", body
    assert SECRET_REASON not in json.dumps(body) and "ops-1" not in json.dumps(body)
    switches.switch_on("all")
    deadline = time.monotonic() + 10
    while _get(url)[0] != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _get(url)[0] == 200
