"""The support desk's tools: their contracts, their registry and the SQLite desk they act on."""

from tools.desk import create_desk
from tools.registry import ALL_TOOL_NAMES, default_tools
from tools.spec import ToolCallContext, ToolFailure, ToolSpec

__all__ = ["ALL_TOOL_NAMES", "ToolCallContext", "ToolFailure", "ToolSpec", "create_desk", "default_tools"]
