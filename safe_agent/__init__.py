"""Safe Agent: a LangGraph agent in which every safety concern is a graph node."""

from safe_agent.errors import SafeAgentError
from safe_agent.checkpoints import open_checkpointer
from safe_agent.facade import SafeAgent
from safe_agent.results import PendingApproval, RunResult
from safe_agent.settings import build_services, load_config

__all__ = ["PendingApproval", "RunResult", "SafeAgent", "SafeAgentError", "build_services", "load_config",
           "open_checkpointer"]
