"""The LangGraph server's own routes (langgraph.json `http.app`): `GET /health` for probes.

langgraph-api (0.16) mounts this Starlette app beside its routes. Its custom auth
(`auth.path`, graph/auth.py) is applied to these routes only when `http.enable_custom_route_auth`
is set, and we leave it off on purpose: a load balancer or a kubelet probes without a key. So an
anonymous caller gets the public report (`HealthReport.to_dict(public=True)`): statuses and
counts, never switch reasons, operator ids, breaker, tool or user names, or paths. A caller who
sends an admin's key (`Authorization: Bearer KEY` or `x-api-key`) gets the full report; any
other key, valid or not, gets the public one (a probe never fails on credentials).

Status: 200 when the home is ok or degraded (it still serves), 503 when it is down. The report is
built in a worker thread (SQLite is synchronous) from the data folder the graph uses
(`safe_agent.settings.data_paths`, as graph/studio.py and graph/auth.py do); no model or tool set
is built here. It is cached for `CACHE_S`, so a flood of probes costs one report a second and
cannot contend with the graph's writers.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping
from functools import cache

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from safe_agent.health import HealthReport, health_report
from safe_agent.settings import data_paths
from safe_agent.stores.principals import PrincipalDirectory

CACHE_S = 1.0
"""How long one report answers every probe (the probe's own cost is ~1-2 ms, docs/health.md)."""
_BEARER = "bearer "
_lock = threading.Lock()
_cached: dict[str, tuple[float, HealthReport]] = {}


def current_report() -> HealthReport:
    """The home's report, at most `CACHE_S` old; one thread builds it while the others wait."""
    root = str(data_paths().root)
    with _lock:
        hit = _cached.get(root)
        if hit is not None and time.monotonic() - hit[0] < CACHE_S:
            return hit[1]
        report = health_report(data_paths())
        _cached[root] = (time.monotonic(), report)
        return report


@cache
def _directory(path: str) -> PrincipalDirectory:
    return PrincipalDirectory(path)


def _is_admin(headers: Mapping[str, str]) -> bool:
    """Whether the request carries the key of an active admin (never raises: False)."""
    authorization = headers.get("authorization") or ""
    if authorization[: len(_BEARER)].lower() == _BEARER:
        key = authorization[len(_BEARER) :].strip()
    else:
        key = (headers.get("x-api-key") or "").strip()
    path = data_paths().principals
    if not key or not path.exists():  # no directory yet: nobody is an admin, create nothing
        return False
    try:
        record = _directory(str(path)).authenticate(key)
    except Exception:  # noqa: BLE001 - an unreadable directory means "not an admin", not a 500
        return False
    return record is not None and record.role == "admin"


async def health(request: Request) -> JSONResponse:
    """GET /health: the report as JSON; 503 when down, else 200; full only for an admin."""
    full = await asyncio.to_thread(_is_admin, request.headers)
    report = await asyncio.to_thread(current_report)
    return JSONResponse(
        report.to_dict(public=not full),
        status_code=503 if report.status == "down" else 200,
        headers={"Cache-Control": "no-store"},
    )


app = Starlette(routes=[Route("/health", health, methods=["GET"])])
