"""Invariant 4: spend caps hold under concurrency, in threads and in separate processes.

Twenty runs of about $0.10 each race for one user's $0.50 day. Reservations are atomic, so the
settled spend never passes the cap, every dollar in the ledger is a `model_call` row in the audit
log, and the runs that could not reserve stop gracefully, naming the user's daily budget.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from safe_agent.stores.audit import AuditLog
from safe_agent.stores.spend import SpendLedger
from tests.budget.workers import CALL_SETTLED_USD, open_agent, priced_config, run_batch

DAILY_USD = 0.50
RUNS = 20


def _check_ledger_and_results(root: Path, results: list[dict[str, Any]]) -> None:
    rows = SpendLedger(root / "spend.sqlite").rows()
    settled = sum(r["settled_usd"] for r in rows if r["status"] == "settled")
    assert settled <= DAILY_USD + 1e-9, f"settled ${settled:.4f} over the ${DAILY_USD} cap"
    assert all(r["status"] == "settled" for r in rows), (
        "every reservation is settled after the runs"
    )
    audit = AuditLog(root / "audit.sqlite")
    audited = sum(r["cost_usd"] for r in audit.records() if r["kind"] == "model_call")
    assert settled == pytest.approx(audited, abs=1e-9), "the ledger balances to the audit log"
    assert audit.verify().ok
    assert settled >= DAILY_USD - 2 * CALL_SETTLED_USD, "runs were refused although budget was left"
    halted = [r for r in results if r["status"] == "halted"]
    assert len(results) == RUNS and halted, "the cap was never reached: the test proves nothing"
    assert {r["status"] for r in results} <= {"answered", "halted"}
    for result in halted:
        assert result["reason_code"] == "user_daily_limit", result
        assert (
            "user u-1's daily budget of $0.5000 cannot cover" in result["answer"]
            and "left" in result["answer"]
        )
    assert sum(r["cost_usd"] for r in results) == pytest.approx(settled, abs=1e-9)


def test_concurrency_threads_never_overspend_the_daily_cap(tmp_path: Path) -> None:
    root = tmp_path / "var"
    with open_agent(str(root), priced_config(user_daily_limit_usd=DAILY_USD)) as agent:
        with ThreadPoolExecutor(max_workers=RUNS) as pool:
            futures = [
                pool.submit(agent.run, "How long does shipping take?", user_id="u-1", role="read")
                for _ in range(RUNS)
            ]
            results = [f.result().to_dict() for f in futures]
    _check_ledger_and_results(root, results)


def test_concurrency_processes_never_overspend_the_daily_cap(tmp_path: Path) -> None:
    root = tmp_path / "var"
    config_json = priced_config(user_daily_limit_usd=DAILY_USD).model_dump_json()
    open_agent(str(root), priced_config()).close()  # create the files once, before the race
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        batches = pool.starmap(run_batch, [(str(root), config_json, ["u-1"] * (RUNS // 4))] * 4)
    _check_ledger_and_results(root, [r for batch in batches for r in batch])


def test_rate_limit_holds_across_two_processes(tmp_path: Path) -> None:
    root = tmp_path / "var"
    config_json = priced_config(rate_limit={"requests_limit": {"read": 3}}).model_dump_json()
    open_agent(str(root), priced_config()).close()
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        batches = pool.starmap(run_batch, [(str(root), config_json, ["u-7"] * 3)] * 2)
    results = [r for batch in batches for r in batch]
    assert sorted(r["reason_code"] for r in results) == ["ok"] * 3 + ["rate_limited"] * 3
    limited = next(r for r in results if r["reason_code"] == "rate_limited")
    assert (
        limited["iterations"] == 0
        and limited["cost_usd"] == 0
        and "try again in" in limited["answer"]
    )
