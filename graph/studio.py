"""The entry `langgraph dev` loads (see langgraph.json): the graph compiled without a checkpointer.

The LangGraph server supplies its own checkpointer; Python callers use `safe_agent.SafeAgent`,
which compiles the same builder with a `SqliteSaver`.
"""

from graph.build import build_graph
from safe_agent.settings import build_services

graph = build_graph(build_services()).compile(name="safe_agent")
