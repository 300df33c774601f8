"""Fault injection: a retry storm against a failing provider must stop at the breaker.

Issue 11, item 1.

A local OpenAI-compatible stub (tests/integration/openai_stub.py) answers every request with
HTTP 500. Four worker processes (tests/integration/storm_child.py), each with one `SafeAgent` on
the same data folder (so one shared `model:openai` breaker in safety.sqlite), start 8 concurrent
runs each at the same instant: 32 runs, every one with `max_retries = 3` (4 attempts).

The breaker must count attempts, not runs, and a retry must ask the breaker before it goes out:
once five attempts have failed, no further request leaves. What may still reach the stub is what
was already in flight when the breaker opened: about one first attempt per run. Counting runs
after their retries lets 32 x 4 = 128 requests through.

Then, after each cool-down, a fresh burst of concurrent runs in all four processes: the
half-open state admits exactly one attempt (the probe), not one run with its three retries.

Every run, refused or failed, must end in a structured halted result, never an exception.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from tests.integration.openai_stub import OpenAIStub, http_error, running_stub

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

CHILD = Path(__file__).with_name("storm_child.py")
REPO_ROOT = Path(__file__).resolve().parents[2]
WORKERS = 4
RUNS_PER_WORKER = 8
RUNS = WORKERS * RUNS_PER_WORKER
MAX_RETRIES = 3
FAILURE_THRESHOLD = 5
COOLDOWN_S = 2.0
IN_FLIGHT_SLACK = 8
"""Attempts beyond one per run that may still get out in the race while the breaker opens."""
PROBE_BURST_RUNS_PER_WORKER = 4
PROBE_WINDOWS = 2
READY_TIMEOUT_S = 60.0
BURST_TIMEOUT_S = 30.0
HALT_CODES = {"model_unavailable", "breaker_open", "breaker_half_open_probe"}

CONFIG = f"""
[model]
name = "gpt-4o-mini"
timeout_s = 5

[retry]
max_retries = {MAX_RETRIES}
base_delay_s = 0.05
max_jitter_s = 0.05

[breaker]
failure_threshold = {FAILURE_THRESHOLD}
cooldown_s = {COOLDOWN_S}

[budget]
run_cost_limit_usd = 50
user_daily_limit_usd = 500
global_monthly_limit_usd = 100000
run_deadline_s = 60

[rate_limit.requests_limit]
read = 100000
"""

_PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


class Worker:
    """One storm_child.py process, spoken to over stdin/stdout (JSON lines)."""

    def __init__(self, index: int, env: dict[str, str], log_dir: Path) -> None:
        self.index = index
        self.stderr_path = log_dir / f"worker-{index}.stderr"
        self._stderr = self.stderr_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, str(CHILD), str(index)],
            cwd=REPO_ROOT,
            env=env,
            text=True,
            bufsize=1,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(target=self._pump, args=(self.process.stdout,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line)
        self._lines.put(None)

    def read(self, timeout_s: float) -> dict[str, Any]:
        """The next JSON line the worker printed (fails the test on exit or timeout)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                line = self._lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(
                    f"worker {self.index} said nothing for {timeout_s:.0f} s:\n{self.stderr_tail()}"
                )
            if line is None:
                pytest.fail(
                    f"worker {self.index} exited ({self.process.poll()}):\n{self.stderr_tail()}"
                )
            if line.startswith("{"):
                return json.loads(line)

    def send(self, payload: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(payload) + "\n")
        self.process.stdin.flush()

    def stderr_tail(self, chars: int = 4000) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        try:
            self.send({"quit": True})
            self.process.stdin.close()  # type: ignore[union-attr]
            self.process.wait(timeout=10)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            self.process.kill()  # this worker only: we started it, we know its pid
            self.process.wait(timeout=10)
        self._stderr.close()


@pytest.fixture
def storm(tmp_path: Path) -> Iterator[tuple[OpenAIStub, list[Worker]]]:
    """A stub answering 500 forever and four ready workers sharing one data folder."""
    config = tmp_path / "storm.toml"
    config.write_text(CONFIG)
    with running_stub(default=http_error(500)) as stub:
        env = {k: v for k, v in os.environ.items() if k not in _PROXY_ENV}
        env.update(
            {
                "SAFE_AGENT_HOME": str(tmp_path / "var"),
                "SAFE_AGENT_CONFIG": str(config),
                "OPENAI_API_KEY": "test-key",
                "OPENAI_BASE_URL": stub.base_url,
                "LANGSMITH_TRACING": "false",
                "LANGCHAIN_TRACING_V2": "false",
                "NO_PROXY": "127.0.0.1,localhost",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.pop("SAFE_AGENT_AUDIT_KEY", None)
        (tmp_path / "var").mkdir()
        # The first worker creates the stores (and the audit key) alone; the others then open them.
        workers = [Worker(0, env, tmp_path)]
        try:
            first = workers[0].read(READY_TIMEOUT_S)
            workers += [Worker(i, env, tmp_path) for i in range(1, WORKERS)]
            ready = [first, *(w.read(READY_TIMEOUT_S) for w in workers[1:])]
            for hello in ready:
                assert hello["ready"] and hello["provider"] == "openai", hello
                assert Path(hello["code"]).is_relative_to(REPO_ROOT), hello  # this checkout's code
            yield stub, workers
        finally:
            for worker in workers:
                worker.stop()


def _burst(
    workers: list[Worker], name: str, runs_per_worker: int
) -> tuple[list[dict[str, Any]], float, float]:
    """Start `runs_per_worker` runs in every worker at one shared instant.

    Return results, start, end.
    """
    start_at = (
        time.time() + 0.5
    )  # time for the command to reach every worker and its threads to line up
    for worker in workers:
        worker.send({"burst": name, "runs": runs_per_worker, "start_at": start_at})
    results: list[dict[str, Any]] = []
    for worker in workers:
        reply = worker.read(BURST_TIMEOUT_S)
        assert reply["burst"] == name, reply
        results += reply["results"]
    return results, start_at, time.time()


def _assert_structured_halts(results: list[dict[str, Any]], expected: int) -> None:
    assert len(results) == expected
    raised = [r["exception"] for r in results if "exception" in r]
    assert not raised, f"{len(raised)} run(s) raised instead of halting:\n{raised[0]}"
    shapes = [(r["status"], r["reason_code"]) for r in results]
    assert all(status == "halted" and code in HALT_CODES for status, code in shapes), shapes
    for r in results:
        assert r["answer"] and "Traceback" not in r["answer"], r


def _summary(results: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in results:
        key = r.get("reason_code", "exception")
        counts[key] = counts.get(key, 0) + 1
    return counts


def test_retry_storm_stops_at_the_breaker_then_one_probe_attempt_per_cooldown(
    storm: tuple[OpenAIStub, list[Worker]],
) -> None:
    stub, workers = storm
    problems: list[
        str
    ] = []  # both phases are measured before failing, so one run shows every number

    # Phase 1: 32 runs at once against a provider that only fails.
    results, started, ended = _burst(workers, "storm", RUNS_PER_WORKER)
    storm_requests = len(stub.completion_requests)
    report = (
        f"{storm_requests} requests reached the provider for {RUNS} runs "
        f"({storm_requests / RUNS:.2f} per run; outcomes {_summary(results)}; "
        f"{ended - started:.2f} s)"
    )
    print(f"\nphase 1: {report}")
    _assert_structured_halts(results, RUNS)
    assert storm_requests >= FAILURE_THRESHOLD, f"the breaker cannot have opened: {report}"
    if storm_requests > RUNS + IN_FLIGHT_SLACK:
        problems.append(
            f"the breaker let a retry storm through: {report}; at most the attempts in flight "
            f"when it opened (about one per run, <= {RUNS + IN_FLIGHT_SLACK}) "
            "may reach the provider"
        )

    # Phase 2: after each cool-down, one burst of concurrent runs in all processes: one probe
    # attempt.
    last = ended
    for window in range(1, PROBE_WINDOWS + 1):
        time.sleep(
            max(0.0, last + COOLDOWN_S + 0.3 - time.time())
        )  # the breaker opened before `last`
        before = len(stub.completion_requests)
        results, started, ended = _burst(workers, f"probe{window}", PROBE_BURST_RUNS_PER_WORKER)
        probes = len(stub.completion_requests) - before
        took = ended - started
        print(
            f"phase 2, window {window}: {probes} request(s) from {len(results)} runs "
            f"(outcomes {_summary(results)}; {took:.2f} s)"
        )
        assert took < COOLDOWN_S, (
            f"burst {window} took {took:.2f} s, longer than the {COOLDOWN_S} s cool-down: "
            f"it may span two windows, so its request count would not be one window's"
        )
        _assert_structured_halts(results, WORKERS * PROBE_BURST_RUNS_PER_WORKER)
        if probes != 1:
            problems.append(
                f"cool-down window {window}: {probes} requests reached the provider; the half-open "
                f"breaker must admit exactly one attempt (the probe), not a run with its "
                f"{MAX_RETRIES} retries"
            )
        last = ended

    assert not problems, "\n".join(problems)
