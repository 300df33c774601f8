"""The conditional edges: pure functions of state that name the next node.

A client can write any channel (`update_state`, a `Command`), so no router trusts the shape of
state: an `authorization` no node could have written is routed to `execute_tool`, which finds no
decision-ledger record for it, refuses, audits and drops the call, so the thread stays usable.
"""

from __future__ import annotations

from typing import Literal

from langchain_core.messages import ToolMessage
from langgraph.graph import END

from safe_agent.graph.state import State


def _after_call_settled(state: State) -> Literal["authorize", "audit"]:
    return "authorize" if state.get("pending_calls") else "audit"


def route_after_validate_input(state: State) -> Literal["budget_check", "audit"]:
    """Halted input goes straight to the audit; good input starts the first turn."""
    return "audit" if state.get("halt") else "budget_check"


def route_after_budget_check(state: State) -> Literal["breaker_check", "audit"]:
    """A spent budget ends the run."""
    return "audit" if state.get("halt") else "breaker_check"


def route_after_breaker_check(state: State) -> Literal["reason", "audit"]:
    """An open provider breaker ends the run without calling the model."""
    return "audit" if state.get("halt") else "reason"


def route_after_reason(state: State) -> Literal["authorize", "validate_output", "audit"]:
    """Tool calls go to authorization; a final answer goes to output validation."""
    if state.get("halt"):
        return "audit"
    if state.get("pending_calls"):
        return "authorize"
    messages = state.get("messages") or []
    refused_here = bool(messages) and isinstance(messages[-1], ToolMessage)  # read-only refusals
    return "audit" if refused_here else "validate_output"


_DECISIONS = frozenset({"allow", "ask_approval"})


def _malformed(auth: object) -> bool:
    """An authorization no node writes: not a dict, an unknown decision, or no data dict."""
    return (
        not isinstance(auth, dict)
        or auth.get("decision") not in _DECISIONS
        or not isinstance(auth.get("data"), dict)
    )


def _awaiting_approval(state: State) -> bool:
    auth = state.get("authorization")
    if not auth or _malformed(auth):
        return False
    return auth["decision"] == "ask_approval" and not auth["data"].get("approved_by")


def route_after_authorize(state: State) -> Literal["execute_tool", "authorize", "audit"]:
    """Allowed calls run; denied calls move on; a call needing approval is audited, then pauses."""
    auth = state.get("authorization")
    if auth is None:
        return _after_call_settled(state)
    if _malformed(auth):
        return "execute_tool" if state.get("pending_calls") else "audit"
    return "execute_tool" if auth["decision"] == "allow" else "audit"


def route_after_approval(state: State) -> Literal["execute_tool", "authorize", "audit"]:
    """Approved calls run; rejected ones move on.

    A refused decision is audited, then pauses again.
    """
    auth = state.get("authorization")
    if auth is None:
        return _after_call_settled(state)
    if _malformed(auth):
        return "execute_tool" if state.get("pending_calls") else "audit"
    if auth["data"].get("approved_by"):
        return "execute_tool"
    if auth["decision"] == "ask_approval":
        return "audit"
    return (
        "execute_tool"  # "allow" with no approver: only a client writes that; the ledger refuses it
    )


def _awaiting_reconcile(state: State) -> bool:
    auth = state.get("authorization")
    if not auth or _malformed(auth):
        return False
    return bool(auth["data"].get("last_refusal")) and (
        auth["decision"] == "allow" or bool(auth["data"].get("approved_by"))
    )


def route_after_execute_tool(state: State) -> Literal["authorize", "audit"]:
    """Next pending call, or close the turn via the audit (also when a reconcile was refused)."""
    if state.get("authorization") is not None:
        return "audit"
    return _after_call_settled(state)


def route_after_audit(
    state: State,
) -> Literal["approval", "execute_tool", "budget_check", "__end__"]:
    """A call awaiting approval or reconciliation pauses again (its record on disk).

    An ended run stops.
    """
    if _awaiting_approval(state):
        return "approval"
    if _awaiting_reconcile(state):
        return "execute_tool"
    return END if state.get("outcome") else "budget_check"
