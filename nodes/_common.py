"""Small helpers every node shares: building audit events and halting a run honestly."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from safe_agent.graph.context import Context
from safe_agent.graph.state import State
from safe_agent.policies.verdict import Decision, ReasonCode, Verdict
from safe_agent.stores.audit import AuditEvent


def thread_id_of(config: RunnableConfig | None) -> str:
    """Return the thread id of this run, or "" for a run without a checkpointer."""
    return str(((config or {}).get("configurable") or {}).get("thread_id") or "")


def model_messages(state: State) -> list[AnyMessage]:
    """The conversation the model may read: human messages only once validate_input judged them.

    A human message put into the thread any other way (`update_state`, a `Command` update) is
    left out, so nothing unjudged reaches the model or is charged.
    """
    judged = set(state.get("judged_ids") or ())
    messages: list[AnyMessage] = state.get("messages") or []
    return [m for m in messages if not isinstance(m, HumanMessage) or m.id in judged]


def make_event(
    node: str,
    kind: str,
    state: State,
    runtime: Runtime[Context],
    config: RunnableConfig | None,
    verdict: Verdict | None = None,
    **fields: Any,
) -> AuditEvent:
    """Build one audit event carrying the caller, the thread and, if given, a verdict."""
    principal = state.get("principal") or {}
    ctx = runtime.context
    event: AuditEvent = {
        "event_id": uuid.uuid4().hex,
        "timestamp": datetime.now(UTC).isoformat(timespec="microseconds"),
        "node": node,
        "kind": kind,
        "thread_id": thread_id_of(config),
        "run_id": state.get("run_id", ""),
        "user_id": principal.get("user_id") or (ctx.user_id if ctx else ""),
        "session_id": principal.get("session_id") or (ctx.session_id if ctx else None),
        "tenant": principal.get("tenant") or (ctx.tenant if ctx else None),
        "step": int(state.get("iterations", 0)),
    }
    if verdict is not None:
        event.update(
            decision=verdict.decision.value,
            reason_code=verdict.reason_code.value,
            policy_id=verdict.policy_id,
            detail=verdict.detail,
        )
    event.update(fields)  # type: ignore[typeddict-item]
    return event


def halt_update(verdict: Verdict, event: AuditEvent, message: str) -> dict[str, Any]:
    """Stop the run: record the verdict, tell the user plainly why, and leave nothing pending."""
    return {
        "halt": verdict.to_dict(),
        "outcome": "halted",
        "pending_calls": [],
        "authorization": None,
        "messages": [
            AIMessage(
                content=message,
                name="safe_agent",
                response_metadata={"halt": verdict.reason_code.value},
            )
        ],
        "audit_events": [event],
    }


def head_call(state: State) -> dict[str, Any] | None:
    """The call to settle now, or None when state holds no well-formed call (it was forged)."""
    calls = state.get("pending_calls")
    head = calls[0] if isinstance(calls, list) and calls else None
    if (
        not isinstance(head, dict)
        or not isinstance(head.get("id"), str)
        or not isinstance(head.get("name"), str)
    ):
        return None
    return head


def no_call_update(
    node: str, state: State, runtime: Runtime[Context], config: RunnableConfig | None
) -> dict[str, Any]:
    """Answer a routed-to node whose state holds no well-formed call: drop it all, audited."""
    verdict = Verdict(
        Decision.DENY, ReasonCode.FORGED_STATE, "no well-formed pending call in state", node
    )
    event = make_event(node, "forged_state", state, runtime, config, verdict, success=False)
    return {"pending_calls": [], "authorization": None, "audit_events": [event]}


def stamp_event_ids(update: Any, config: RunnableConfig | None) -> Any:
    """Give each audit event of a node's update an id derived from the LangGraph task that made it.

    A task replayed after a crash, or re-run on resume after an interrupt, has the same task id,
    so it yields the same event ids and the audit log (written once per event id) keeps one row
    per decision however often the node ran.
    """
    task = ((config or {}).get("metadata") or {}).get("langgraph_checkpoint_ns") or ""
    events = update.get("audit_events") if isinstance(update, dict) else None
    if not task or not events:
        return update
    for index, event in enumerate(events):
        if event.get("kind") != "__flushed__":
            seed = f"{task}|{index}|{event.get('kind')}|{event.get('tool_call_id') or ''}"
            event["event_id"] = hashlib.sha256(seed.encode()).hexdigest()[:32]
    return update
