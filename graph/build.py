"""Wire the nine safety nodes into one graph. Callers compile it with the checkpointer they own."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph import START, StateGraph
from langgraph.runtime import Runtime

from safe_agent.graph import routers
from safe_agent.graph.context import Context
from safe_agent.graph.services import Services
from safe_agent.graph.state import InputState, State
from safe_agent.nodes._common import stamp_event_ids
from safe_agent.nodes.approval import approval
from safe_agent.nodes.audit import audit
from safe_agent.nodes.authorize import authorize
from safe_agent.nodes.breaker_check import breaker_check
from safe_agent.nodes.budget_check import budget_check
from safe_agent.nodes.execute_tool import execute_tool
from safe_agent.nodes.reason import reason
from safe_agent.nodes.validate_input import validate_input
from safe_agent.nodes.validate_output import validate_output

NODES = (
    validate_input,
    budget_check,
    breaker_check,
    reason,
    authorize,
    approval,
    execute_tool,
    validate_output,
    audit,
)
"""Every node, in the order a simple run meets them; the node name is the function name."""


def _bind(node: Callable[..., dict[str, Any]], services: Services) -> Callable[..., dict[str, Any]]:
    """Bind a node to `services`; its audit events get ids from its LangGraph task, exactly once."""
    run = partial(node, services=services)

    def bound(state: State, runtime: Runtime[Context], config: RunnableConfig) -> dict[str, Any]:
        return stamp_event_ids(run(state, runtime, config), config)

    bound.__name__ = bound.__qualname__ = node.__name__
    bound.__doc__ = node.__doc__
    return bound


def build_graph(services: Services) -> StateGraph:
    """Return the uncompiled graph with every node bound to `services`."""
    builder = StateGraph(State, input_schema=InputState, context_schema=Context)
    for node in NODES:
        builder.add_node(node.__name__, _bind(node, services))
    builder.add_edge(START, "validate_input")
    builder.add_conditional_edges("validate_input", routers.route_after_validate_input)
    builder.add_conditional_edges("budget_check", routers.route_after_budget_check)
    builder.add_conditional_edges("breaker_check", routers.route_after_breaker_check)
    builder.add_conditional_edges("reason", routers.route_after_reason)
    builder.add_conditional_edges("authorize", routers.route_after_authorize)
    builder.add_conditional_edges("approval", routers.route_after_approval)
    builder.add_conditional_edges("execute_tool", routers.route_after_execute_tool)
    builder.add_edge("validate_output", "audit")
    builder.add_conditional_edges("audit", routers.route_after_audit)
    return builder
