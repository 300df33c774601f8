"""Tools: the contract every tool takes, wrappers for your own tools, and the demo desk pack.

`ToolSpec` + `ToolPolicy` is the contract; `tool_from_function`, `tool_from_langchain` and
`tools_from_mcp` wrap your own tools in it; `ToolPack` groups tools with their prompt and the
resources they need. `tools.support_desk` is the demo's pack; `tools.workspace` is a second one
(an office assistant) to copy from.
"""

from safe_agent.policies.config import ToolPolicy
from safe_agent.tools.adapters import (
    tool_from_function,
    tool_from_langchain,
    tools_from_mcp,
    wrap_tool,
)
from safe_agent.tools.pack import ToolLoadError, ToolPack
from safe_agent.tools.spec import ToolCallContext, ToolFailure, ToolSpec

__all__ = [
    "ToolCallContext",
    "ToolFailure",
    "ToolLoadError",
    "ToolPack",
    "ToolPolicy",
    "ToolSpec",
    "tool_from_function",
    "tool_from_langchain",
    "tools_from_mcp",
    "wrap_tool",
]
