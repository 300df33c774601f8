"""A worker process for tests/integration/test_breaker_storm.py.

Many concurrent runs on one data folder.

Run as `python storm_child.py <worker-index>` with SAFE_AGENT_HOME, SAFE_AGENT_CONFIG,
OPENAI_API_KEY and OPENAI_BASE_URL in the environment, so `SafeAgent.open()` builds the real
ChatOpenAI exactly as production does, with its breaker in `$SAFE_AGENT_HOME/safety.sqlite`.

Protocol (one JSON object per line):

* stdout, once the agent is built:
  `{"ready": true, "pid": ..., "provider": "openai", "code": <path>}`.
* stdin: `{"burst": NAME, "runs": N, "start_at": EPOCH}` starts N runs in N threads, all released
  at the wall-clock time EPOCH (shared by every worker, so the runs of all processes start
  together). stdout then gets `{"burst": NAME, "results": [...]}`: each run's `RunResult.to_dict()`
  plus its start and end times, or the traceback if `run` raised.
* stdin: `{"quit": true}` (or end of input) closes the agent and exits 0.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))  # this checkout's code, never another install of the package

from safe_agent import SafeAgent  # noqa: E402 - after the sys.path line above

QUESTION = "How do refunds work?"


def _emit(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


def _one_run(
    agent: SafeAgent,
    user_id: str,
    start_at: float,
    barrier: threading.Barrier,
    out: list[dict[str, Any]],
    index: int,
) -> None:
    barrier.wait()
    time.sleep(max(0.0, start_at - time.time()))
    started = time.time()
    try:
        result: dict[str, Any] = agent.run(QUESTION, user_id=user_id, role="read").to_dict()
    except BaseException:  # noqa: BLE001 - the test asserts there is none; report it, never die
        result = {"exception": traceback.format_exc()}
    out[index] = {**result, "user_id": user_id, "started": started, "ended": time.time()}


def _burst(
    agent: SafeAgent, worker: int, name: str, runs: int, start_at: float
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{} for _ in range(runs)]
    barrier = threading.Barrier(runs)
    threads = [
        threading.Thread(
            target=_one_run,
            args=(agent, f"storm-w{worker}-{name}-{i}", start_at, barrier, out, i),
            daemon=True,
        )
        for i in range(runs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return out


def main() -> int:
    worker = int(sys.argv[1])
    from safe_agent.nodes import reason as reason_node

    with SafeAgent.open() as agent:
        _emit(
            {
                "ready": True,
                "pid": os.getpid(),
                "provider": agent.services.provider,
                "code": reason_node.__file__,
            }
        )
        for line in sys.stdin:
            command = json.loads(line)
            if command.get("quit"):
                break
            results = _burst(
                agent, worker, command["burst"], int(command["runs"]), float(command["start_at"])
            )
            _emit({"burst": command["burst"], "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
