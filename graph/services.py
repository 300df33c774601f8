"""What the nodes work with besides state: the operator's config, the model, tools and stores.

Built once per process by `safe_agent.settings.build_services` (or by a test) and bound to the
nodes by `build_graph`. Nothing here is per-caller: identity lives in the runtime context.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from policies.config import SafetyConfig
from stores.audit import AuditLog
from stores.breakers import BreakerStore
from stores.decisions import DecisionLedger
from stores.runs import RunLedger
from stores.executions import ExecutionLedger
from stores.switches import KillSwitchStore
from stores.rate_limits import RateLimitStore
from stores.spend import SpendLedger
from tools.spec import ToolSpec


@dataclass(frozen=True, slots=True)
class DataPaths:
    """Where the SQLite files live: one folder, one file per concern."""

    root: Path

    @property
    def checkpoints(self) -> Path:
        """LangGraph checkpoints (the paused and finished threads)."""
        return self.root / "checkpoints.sqlite"

    @property
    def audit(self) -> Path:
        """The append-only audit log."""
        return self.root / "audit.sqlite"

    @property
    def audit_key(self) -> Path:
        """The audit log's MAC key when the operator names none (`docs/audit.md`): mode 0600, never in audit.sqlite."""
        return self.root / "audit.key"

    @property
    def safety(self) -> Path:
        """Breakers and other durable safety state."""
        return self.root / "safety.sqlite"

    @property
    def spend(self) -> Path:
        """The spend ledger (reservations and charges), in its own file: it is written on every turn."""
        return self.root / "spend.sqlite"

    @property
    def principals(self) -> Path:
        """The principal directory: ids, roles, groups and salted hashes of API keys (mode 0600)."""
        return self.root / "principals.sqlite"

    @property
    def desk(self) -> Path:
        """The demo support desk's business data."""
        return self.root / "desk.sqlite"


@dataclass(frozen=True)
class Services:
    """Everything a node may use apart from state and runtime context."""

    config: SafetyConfig
    model: BaseChatModel
    model_name: str
    provider: str
    tools: dict[str, ToolSpec]
    resources: Mapping[str, Any]
    """What the tool packs set up (and the caller added): handed to every tool call."""
    system_prompt: str
    """The operator's prompt, else the tool packs', else a generic one."""
    audit: AuditLog
    breakers: BreakerStore
    executions: ExecutionLedger
    switches: KillSwitchStore
    paths: DataPaths
    spend: SpendLedger
    rate_limits: RateLimitStore
    decisions: DecisionLedger
    runs: RunLedger
    detector: Any = None
    """The operator's second-layer injection detector (`[input] detector`), or None: off."""
    server_auth: bool = False
    """True for the graph a LangGraph server runs: identity only from the authenticated principal."""
    clock: Callable[[], float] = field(default=time.time)
    sleep: Callable[[float], None] = field(default=time.sleep)

    @cached_property
    def model_with_tools(self) -> BaseChatModel:
        """Return the model bound to every tool's schema, built once: schemas do not change at run time."""
        return self.model.bind_tools([t.as_openai_tool() for t in self.tools.values()])  # type: ignore[return-value]
