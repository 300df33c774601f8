"""Calls in doubt: a tool that started and never reported back is listed, blocks its thread, and
is settled by a person, whatever the checkpoint remembers.

The execution ledger, not the checkpoint, is the source: with exit durability a crash after a
tool's side effect leaves the thread at its last pause (an approval already answered) or loses
the run altogether, and with per-step durability it leaves a thread that no interrupt marks.
Either way the ledger row is still `started`. `pending` lists every such row (kind `reconcile`);
approvals, edits, rejections and new messages on that thread are refused until an admin says
whether the effect happened (`reconcile`). Under a kill switch covering the call, the answer is
recorded on the ledger (nothing runs, whatever the answer) before the thread moves on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from langgraph.types import Command

from safe_agent import switches
from safe_agent.checkpoints import threads_with_checkpoints
from safe_agent.errors import Forbidden, InDoubt, NothingToResume
from safe_agent.policies.reconcile import check_reconciler
from safe_agent.policies.verdict import Role
from safe_agent.results import RunResult
from safe_agent.stores.executions import Execution

if TYPE_CHECKING:
    from safe_agent.facade import SafeAgent


def doubt_request(row: Execution, thread_exists: bool, idempotent: bool = False) -> dict[str, Any]:
    """What `pending` shows for a call in doubt that no reconcile interrupt marks yet."""
    started = datetime.fromtimestamp(row.started_at, UTC).isoformat(timespec="seconds")
    return {
        "kind": "reconcile",
        "from_ledger": True,
        "in_doubt": True,
        "thread_exists": thread_exists,
        "idempotent": idempotent,
        "tool_name": row.tool_name,
        "tool_call_id": row.tool_call_id,
        "action_digest": row.action_digest,
        "started_at": started,
        "attempts": row.attempts,
        "thread_id": row.thread_id,
        "question": f"{row.tool_name} started at {started} but never reported back. Did its side "
        f"effect happen? An admin answers with `safe-agent reconcile {row.thread_id} --done` or "
        "`--not-done`; until then nothing else on this thread proceeds.",
    }


def refuse_if_in_doubt(agent: SafeAgent, thread_id: str) -> None:
    """Raise `InDoubt` when a call of the thread may have had its effect and nobody settled it."""
    pending = agent.pending_for(thread_id)
    if (
        pending is not None
        and pending.request.get("from_ledger")
        and not pending.request.get("idempotent")
    ):
        raise InDoubt(f"thread {thread_id}: {pending.request['question']}")


def reconcile(
    agent: SafeAgent, thread_id: str, *, done: bool, operator_id: str, operator_role: str, note: str
) -> RunResult:
    """Bring the thread to its reconcile pause, answer it; a lost one is settled in the ledger."""
    if (
        operator_role not in ("read", "write", "admin")
        or not check_reconciler(role=Role(operator_role)).allowed
    ):
        raise Forbidden("settling an in-doubt call needs the admin role")
    from safe_agent.facade import _context  # the facade's identity check, one place

    context = _context(operator_id, operator_role, None, None)
    pending = agent.pending_for(thread_id)
    if pending is not None and pending.request.get("from_ledger"):
        snap = agent.graph.get_state(agent._config(thread_id))
        if snap.interrupts and _approved_on_record(
            agent, thread_id, snap.interrupts[0].value or {}
        ):
            # The approval is on record (the call started): passing the stale pause re-runs nothing
            # by itself; execute_tool finds the started row and asks to reconcile.
            resume = {snap.interrupts[0].id: {"decisions": [{"type": "approve"}]}}
            agent._invoke(Command(resume=resume), thread_id, context)
        elif snap.values and not snap.interrupts and snap.next:
            agent._invoke(None, thread_id, context)
        pending = agent.pending_for(thread_id)
    if pending is None or pending.kind != "reconcile":
        raise NothingToResume(f"thread {thread_id} has no call in doubt")
    if pending.request.get("from_ledger"):
        return _settle_in_ledger(agent, thread_id, done=done, operator_id=operator_id, note=note)
    if switches.stopping_switch(agent, thread_id, pending.request) is not None:
        # Under a kill switch execute_tool stops the call instead of settling it: settle it on the
        # ledger first, then the resumed node replays that answer (done) or stops it (not done).
        _settle_in_ledger(agent, thread_id, done=done, operator_id=operator_id, note=note)
    return agent.resume(
        thread_id,
        {"outcome": "done" if done else "not_done", "note": note},
        approver_id=operator_id,
        approver_role=operator_role,
    )


def _approved_on_record(agent: SafeAgent, thread_id: str, value: dict[str, Any]) -> bool:
    """Is the stale pause an approval whose exact action the ledger shows approved (so passing it
    re-runs nothing by itself)? An edited action is not: its arguments died with the crash."""
    if value.get("kind") != "approval":
        return False
    record = agent.services.decisions.get(
        thread_id=thread_id,
        tool_call_id=str(value.get("tool_call_id")),
        digest=str(value.get("action_digest")),
    )
    return record is not None and record.status == "approved"


def _settle_in_ledger(
    agent: SafeAgent, thread_id: str, *, done: bool, operator_id: str, note: str
) -> RunResult:
    """The thread cannot reach the call (lost, or moved on): record the answer on the ledger row."""
    row = agent.services.executions.unfinished(thread_id)[0]
    outcome = "done" if done else "not_done"
    agent.services.executions.finish(
        row.key,
        success=done,
        now=agent.services.clock(),
        resolved_by=operator_id,
        result={"reconciled": outcome, "by": operator_id, "note": note},
        status="reconciled_done" if done else "reconciled_not_done",
    )
    detail = f"{row.tool_name} ({row.tool_call_id}) reconciled as {outcome} on the ledger" + (
        "" if done else ": it has not run, and runs only if it is approved again"
    )
    agent.record_operator_action(
        "tool_reconciled", f"thread:{thread_id}", operator_id, detail, reason_code="reconciled"
    )
    answer = detail
    return RunResult(
        thread_id=thread_id,
        status="answered",
        answer=answer,
        reason_code="reconciled",
        cost_usd=0.0,
        iterations=0,
    )


def mark_lost_threads(agent: SafeAgent, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flag audit rows whose thread has no checkpoint (`thread_lost`): a run that a crash cut off
    before its first pause, under exit durability. The rows stay (they are the record of what was
    decided); the flag says the conversation they belong to no longer exists."""
    threads = {r.get("thread_id") for r in rows if r.get("thread_id")}
    if not threads:
        return rows
    known = threads_with_checkpoints(agent.checkpointer, threads)  # SQLite or PostgreSQL
    for row in rows:
        if row.get("thread_id") and row["thread_id"] not in known:
            row["thread_lost"] = True
    return rows
