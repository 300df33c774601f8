"""The entry `langgraph dev` loads (see langgraph.json): the graph compiled without a checkpointer.

The LangGraph server supplies the checkpointer (`graph/studio_checkpointer.py`, named by
`checkpointer.path` in langgraph.json); Python callers use `safe_agent.SafeAgent`, which compiles
the same builder with a `SqliteSaver`.

The server's own default recursion limit is over ten thousand steps; the graph carries the
operator's `recursion_limit` (the one the facade uses) so a Studio run stops as early as a Python
run does. A run may pass a lower `recursion_limit`; a higher one is refused (graph/auth.py, and
again by validate_input).
"""

from safe_agent.graph.build import build_graph
from safe_agent.settings import build_services

services = build_services(server_auth=True)  # identity only from the server's auth handler

graph = (
    build_graph(services)
    .compile(name="safe_agent")
    .with_config(recursion_limit=services.config.recursion_limit)
)
