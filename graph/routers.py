"""The conditional edges: pure functions of state that name the next node.

Each router raises on a state it does not expect, so a wiring bug fails loudly in tests
instead of silently skipping a safety node.
"""

from __future__ import annotations

from typing import Literal

from langgraph.graph import END

from graph.state import State


class UnexpectedState(AssertionError):
    """A router met a state its node should never produce (a bug)."""


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
    return "authorize" if state.get("pending_calls") else "validate_output"


def _awaiting_approval(state: State) -> bool:
    auth = state.get("authorization")
    return bool(auth) and auth["decision"] == "ask_approval" and not auth["data"].get("approved_by")


def route_after_authorize(state: State) -> Literal["execute_tool", "authorize", "audit"]:
    """Allowed calls run; denied calls move on; a call needing approval is audited, then pauses."""
    auth = state.get("authorization")
    if auth is None:
        return _after_call_settled(state)
    if auth["decision"] == "allow":
        return "execute_tool"
    if auth["decision"] == "ask_approval":
        return "audit"
    raise UnexpectedState(f"authorize left decision {auth['decision']!r}")


def route_after_approval(state: State) -> Literal["execute_tool", "authorize", "audit"]:
    """Approved calls run; rejected ones move on; a refused decision is audited, then pauses again."""
    auth = state.get("authorization")
    if auth is None:
        return _after_call_settled(state)
    if auth["data"].get("approved_by"):
        return "execute_tool"
    if auth["decision"] == "ask_approval":
        return "audit"
    raise UnexpectedState("approval left an authorization that is neither approved nor pending")


def _awaiting_reconcile(state: State) -> bool:
    auth = state.get("authorization")
    return bool(auth) and bool(auth["data"].get("last_refusal")) and (
        auth["decision"] == "allow" or bool(auth["data"].get("approved_by")))


def route_after_execute_tool(state: State) -> Literal["authorize", "audit"]:
    """Next pending call, or close the turn through the audit (also when a reconcile was refused)."""
    if state.get("authorization") is not None:
        return "audit"
    return _after_call_settled(state)


def route_after_audit(state: State) -> Literal["approval", "execute_tool", "budget_check", "__end__"]:
    """A call awaiting approval or reconciliation pauses again (its record on disk); an ended run stops."""
    if _awaiting_approval(state):
        return "approval"
    if _awaiting_reconcile(state):
        return "execute_tool"
    return END if state.get("outcome") else "budget_check"
