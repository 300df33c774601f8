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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: `DataPaths` must be cheap to import (the CLI's reports)
    from langchain_core.language_models import BaseChatModel

    from safe_agent.policies.config import SafetyConfig
    from safe_agent.stores.audit import AuditLog
    from safe_agent.stores.breakers import BreakerStore
    from safe_agent.stores.decisions import DecisionLedger
    from safe_agent.stores.executions import ExecutionLedger
    from safe_agent.stores.rate_limits import RateLimitStore
    from safe_agent.stores.runs import RunLedger
    from safe_agent.stores.spend import SpendLedger
    from safe_agent.stores.switches import KillSwitchStore
    from safe_agent.tools.spec import ToolSpec


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
        """The audit log's MAC key when the operator names none (`docs/audit.md`).

        Mode 0600, never in audit.sqlite.
        """
        return self.root / "audit.key"

    @property
    def vault_key(self) -> Path:
        """The PII vault's key (`stores.vault`), made on first use: mode 0600, beside the vault."""
        return self.root / "vault.key"

    @property
    def safety(self) -> Path:
        """Breakers and other durable safety state."""
        return self.root / "safety.sqlite"

    @property
    def spend(self) -> Path:
        """The spend ledger (reservations and charges), in its own file: written on every turn."""
        return self.root / "spend.sqlite"

    @property
    def principals(self) -> Path:
        """The principal directory: ids, roles, groups and salted hashes of API keys (mode 0600)."""
        return self.root / "principals.sqlite"

    @property
    def desk(self) -> Path:
        """The demo support desk's business data."""
        return self.root / "desk.sqlite"


@dataclass(eq=False)
class ModelSlot:
    """One chat model the degradation ladder can call, with its own breaker and price.

    `level` is "primary", "fallback" or "cheap"; a `read_only` slot is served with the write
    tools withdrawn. Bound variants (the model with one tool set) are built once per tool set.
    """

    name: str
    provider: str
    model: BaseChatModel
    level: str = "primary"
    read_only: bool = False
    _bound: dict[tuple[str, ...], BaseChatModel] = field(default_factory=dict, repr=False)

    @property
    def breaker(self) -> str:
        """The breaker that guards this model: every slot fails (and recovers) on its own."""
        return f"model:{self.provider}:{self.name}"

    def bound(self, tools: tuple[ToolSpec, ...]) -> BaseChatModel:
        """Return the model bound to exactly these tools' schemas (no tools: the bare model)."""
        if not tools:
            return self.model
        key = tuple(t.name for t in tools)
        found = self._bound.get(key)
        if found is None:
            found = self.model.bind_tools([t.as_openai_tool() for t in tools])  # type: ignore[assignment]
            self._bound[key] = found
        return found


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
    """True for a LangGraph server's graph: identity only from the authenticated principal."""
    fallbacks: tuple[ModelSlot, ...] = ()
    """`[[model.fallbacks]]`, in ladder order."""
    cheap: ModelSlot | None = None
    """`[model] cheap`: the model cost-aware routing may pick for a turn."""
    response_cache: Any = None
    """`stores.response_cache.ResponseCache` when `[routing] cache_ttl_s` is set; None: off."""
    vault: Any = None
    """`stores.vault.Vault`: the values behind the PII tokens the model sees; None: no tokens (a
    "tokenize" action then redacts)."""
    clock: Callable[[], float] = field(default=time.time)
    sleep: Callable[[float], None] = field(default=time.sleep)

    @cached_property
    def primary(self) -> ModelSlot:
        """The primary model as a ladder slot (built once: its bound variants are cached in it)."""
        return ModelSlot(
            self.model_name, self.provider, self.model, "primary", self.config.model.read_only
        )
