"""The graph's state: what callers may send (messages) and what the safety nodes keep.

Everything except `messages` is internal. The input schema is `InputState`, so a caller that
sends `halt` or `cost_usd` in its input changes nothing (invariant 1). Values are plain JSON
types so checkpoints read the same from Python, the CLI and the Studio server.
"""

from __future__ import annotations

from typing import Annotated, Any, NotRequired

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

from safe_agent.stores.audit import AuditEvent

AUDIT_FLUSHED: AuditEvent = {"kind": "__flushed__"}
"""Put first in a node's `audit_events` update: the events already in state are now on disk."""


def add_audit_events(
    left: list[AuditEvent] | None, right: list[AuditEvent] | None
) -> list[AuditEvent]:
    """Append new events; a leading `AUDIT_FLUSHED` first drops the ones written.

    That keeps the state small.
    """
    if right and right[0].get("kind") == AUDIT_FLUSHED["kind"]:
        return list(right[1:])
    return [*(left or []), *(right or [])]


class InputState(TypedDict):
    """What a caller may send."""

    messages: Annotated[list[AnyMessage], add_messages]
    """The conversation; the last human message is the request."""


class Principal(TypedDict):
    """The requester of the current run, for display; the decision ledger holds the real record."""

    user_id: str
    role: str
    tenant: str | None
    session_id: str | None


class PendingCall(TypedDict):
    """A tool call the model proposed that has not been settled yet."""

    id: str
    name: str
    args: Any


class RunClock(TypedDict):
    """The run's working time, kept by budget_check; waits for a human approval do not count."""

    run_id: str
    """The run these fields (and `warnings`) belong to; a new run starts a new clock."""
    started_at: float
    """`services.clock()` when the run's first turn began."""
    active_s: float
    """Seconds the run has worked so far, compared with `run_deadline_s`."""
    last_at: float
    """`services.clock()` at the latest budget check."""
    soft_warned: list[str]
    """Budgets already warned about in this run, so each warns once."""


class Reservation(TypedDict):
    """The spend held for the next model call, by budget_check; reason settles it."""

    id: str
    """The ledger key, "<run_id>:<iteration>": a replayed check finds its own hold."""
    amount_usd: float
    """The worst case held."""
    prompt_tokens: int
    """The prompt estimate behind it, also the charge basis of a failed attempt."""
    finish: bool
    """Steer the model to a final answer: no tools bound (soft limit or last tool call used)."""
    model: NotRequired[str]
    """The breaker name of the model routed to first: the one the hold was priced for."""


class State(InputState, total=False):
    """The full state."""

    run_id: str
    """One id per run (a new human message starts a run; a resume continues it)."""
    principal: Principal
    """The requester. Approvals are decided by whoever resumes, never by this field."""
    iterations: int
    """Model calls made in this run."""
    input_tokens: int
    """Prompt tokens used in this run."""
    output_tokens: int
    """Completion tokens used in this run."""
    cost_usd: float
    """USD spent in this run."""
    pending_calls: list[PendingCall]
    """Tool calls of the last model turn still to authorise, approve or run; the head is current."""
    authorization: dict[str, Any] | None
    """The verdict for the head of `pending_calls` (a `Verdict.to_dict()`)."""
    halt: dict[str, Any] | None
    """Set when a node stops the run: the verdict that stopped it."""
    outcome: str | None
    """How the run ended: answered or halted; None while it runs."""
    audit_events: Annotated[list[AuditEvent], add_audit_events]
    """Decisions not yet in the audit log, in order; a node that writes them clears the list."""
    run_clock: RunClock
    """The run's start and working time, for the wall-clock deadline."""
    reservation: Reservation | None
    """The spend reservation of the next model call; None once settled."""
    warnings: list[str]
    """Soft-limit warnings of the run named in `run_clock`, shown with the result."""
    judged_ids: list[str]
    """Ids of the human messages validate_input has judged; only these are sent to the model."""
    service_level: str | None
    """The ladder level that served the latest model turn: primary, cheap, fallback, read_only or
    unavailable (`docs/resilience.md`)."""
