"""Safe Agent: a LangGraph agent in which every safety concern is a graph node.

The public names are loaded on first use (PEP 562): every `safe_agent.*` import, the CLI's
included, runs this file first, and importing the facade pulls in LangGraph and LangChain
(seconds). `from safe_agent import SafeAgent` works as before; `safe-agent --help` stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for type checkers and IDEs; at run time `__getattr__` below loads them
    from safe_agent.checkpoints import open_checkpointer
    from safe_agent.errors import SafeAgentError
    from safe_agent.facade import SafeAgent
    from safe_agent.results import PendingApproval, RunResult
    from safe_agent.settings import build_services, load_config

_PUBLIC = {
    "PendingApproval": "safe_agent.results",
    "RunResult": "safe_agent.results",
    "SafeAgent": "safe_agent.facade",
    "SafeAgentError": "safe_agent.errors",
    "build_services": "safe_agent.settings",
    "load_config": "safe_agent.settings",
    "open_checkpointer": "safe_agent.checkpoints",
}

__all__ = [
    "PendingApproval",
    "RunResult",
    "SafeAgent",
    "SafeAgentError",
    "build_services",
    "load_config",
    "open_checkpointer",
]
assert sorted(_PUBLIC) == __all__  # one list of public names, spelt out for linters


def __getattr__(name: str) -> Any:
    """Import the module that defines a public name the first time someone asks for it."""
    module = _PUBLIC.get(name)
    if module is None:  # also lets `from safe_agent import tools` find the subpackage
        raise AttributeError(f"module 'safe_agent' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
