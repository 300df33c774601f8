"""Load the operator's config and assemble the services the graph runs with.

Defaults are embedded: with no config file and no API key, everything runs offline on SQLite
files under `var/` with the built-in offline planner. `OPENAI_API_KEY` (and optionally
`OPENAI_BASE_URL`) switch the `reason` node to a real provider through `langchain-openai`.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from safe_agent.errors import ConfigError
from safe_agent.graph.prompts import GENERIC_PROMPT
from safe_agent.graph.services import DataPaths, Services
from safe_agent.policies.config import SafetyConfig
from safe_agent.stores._files import FileRefused, read_bounded_text
from safe_agent.stores._sqlite import private_folder
from safe_agent.stores.audit import AuditLog
from safe_agent.stores.audit_anchor import AuditAnchors, AuditKeyError, load_key
from safe_agent.stores.breakers import BreakerStore
from safe_agent.stores.decisions import DecisionLedger
from safe_agent.stores.executions import ExecutionLedger
from safe_agent.stores.rate_limits import RateLimitStore
from safe_agent.stores.response_cache import ResponseCache
from safe_agent.stores.runs import RunLedger
from safe_agent.stores.spend import SpendLedger
from safe_agent.stores.switches import KillSwitchStore

if TYPE_CHECKING:  # the model, tool and vault modules load LangChain: imported where used, so
    # `load_config` and `data_paths` stay cheap for the CLI's read-only commands
    from langchain_core.language_models import BaseChatModel

    from safe_agent.tools.pack import LoadedTools
    from safe_agent.tools.spec import ToolSpec

CONFIG_ENV = "SAFE_AGENT_CONFIG"
HOME_ENV = "SAFE_AGENT_HOME"
AUDIT_KEY_ENV = "SAFE_AGENT_AUDIT_KEY"


MAX_CONFIG_BYTES = 1024 * 1024
"""The largest config file read (1 MiB, far past any real one): a path to a device or a runaway
file is refused before it is read, instead of being read until the host runs out of memory."""


def read_config_text(file: Path, what: str = "config", limit: int = MAX_CONFIG_BYTES) -> str:
    """Return the text of a regular file of at most `limit` bytes, else raise one `ConfigError`
    line naming the file (`stores._files.read_bounded_text`: a device such as `/dev/zero`, a pipe
    or a folder is refused unread)."""
    try:
        return read_bounded_text(file, limit)
    except FileRefused as exc:
        reason = str(exc)
        if reason.startswith("larger than"):
            raise ConfigError(f"{what} {file} is {reason}") from None
        if reason.startswith("not UTF-8"):
            raise ConfigError(f"invalid {what} {file}: {reason}") from None
        raise ConfigError(f"cannot read {what} {file}: {reason}") from None


def load_config(path: str | Path | None = None) -> SafetyConfig:
    """Read a TOML or JSON config (argument, then $SAFE_AGENT_CONFIG); no file means the defaults.

    Every failure is one `ConfigError` line naming the file (`read_config_text` for the size cap).
    """
    chosen = path or os.environ.get(CONFIG_ENV)
    if not chosen:
        return SafetyConfig()
    file = Path(chosen)
    text = read_config_text(file)
    try:
        raw: Any = json.loads(text) if file.suffix == ".json" else tomllib.loads(text)
        return SafetyConfig.model_validate(raw)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        if isinstance(exc, ValidationError):
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"invalid config {file}: {where}: {first['msg']}") from None
        raise ConfigError(f"invalid config {file}: {str(exc).splitlines()[0]}") from None


def data_paths(root: str | Path | None = None) -> DataPaths:
    """Return where the SQLite files go: the argument, then $SAFE_AGENT_HOME, then ./var."""
    return DataPaths(Path(root or os.environ.get(HOME_ENV) or "var"))


def open_audit(paths: DataPaths, config: SafetyConfig, *, create: bool = True) -> AuditLog:
    """Open the audit log keyed ($SAFE_AGENT_AUDIT_KEY, `[audit] key_file`, else
    `<home>/audit.key`) and anchored in the safety store. With `create=False` nothing is made: a
    missing audit file (AuditMissing) or key (ConfigError) is an error, as `audit --verify` needs.
    A default key is only made for a log that has no anchor yet: a lost key is reported, never
    silently replaced."""
    anchors = AuditAnchors(paths.safety)
    try:
        key = load_key(
            env_value=os.environ.get(AUDIT_KEY_ENV),
            key_file=config.audit.key_file,
            default_file=paths.audit_key,
            create=create and anchors.read() is None,
        )
    except AuditKeyError as exc:
        raise ConfigError(str(exc)) from None
    return AuditLog(paths.audit, key=key, anchors=anchors, create=create)


def default_model(config: SafetyConfig) -> tuple[BaseChatModel, str, str]:
    """Build the primary model of `[model]`: (model, name, provider). See `safe_agent.models`."""
    from safe_agent.models import chat_model, primary_route

    route = primary_route(config)
    return chat_model(route, config), route.name, route.provider


def _tool_set(config: SafetyConfig, override: Any) -> LoadedTools:
    """Load `[tools] load` (or the caller's `tools=`) with policies.

    The caller's `tools=` may be a pack, specs, tools or functions.
    """
    from safe_agent.tools.pack import LoadedTools, ToolLoadError, collect, load_tools, with_policies

    try:
        if override is None:
            return load_tools(config.tools.load, config.tools.policies)
        loaded = LoadedTools()
        collect(override, "tools=", loaded)
        return with_policies(loaded, config.tools.policies)
    except ToolLoadError as exc:
        raise ConfigError(str(exc)) from None


def load_tool_set(config: SafetyConfig | None = None) -> dict[str, ToolSpec]:
    """Return the tools `[tools] load` names, under the operator's policies, by name.

    What `build_services` would load, without running any pack's setup: nothing is created, so
    the CLI's `tools` command can show an operator the tool set before anything runs.
    """
    return dict(_tool_set(config or load_config(), None).tools)


def _resources(loaded: LoadedTools, root: Path, extra: dict[str, Any] | None) -> dict[str, Any]:
    """Run pack setups; the caller's extra resources may add entries, never replace a pack's."""
    resources = loaded.resources(root)
    clash = sorted(set(extra or {}) & set(resources))
    if clash:
        raise ConfigError(f"resources {clash} are set by a tool pack and cannot be replaced")
    return {**(extra or {}), **resources}


def load_detector(entry: str | None) -> Any:
    """Import the operator's second-layer detector (`[input] detector`), calling a factory once."""
    if entry is None:
        return None
    from safe_agent.tools.pack import ToolLoadError, import_entry

    try:
        found = import_entry(entry)
    except ToolLoadError as exc:
        raise ConfigError(f"input.detector: {str(exc).replace('tool entry', 'entry')}") from None
    if not hasattr(found, "score") and callable(found):
        try:
            found = found()
        except Exception as exc:  # noqa: BLE001 - the operator's factory: one line, no traceback
            raise ConfigError(f"input.detector {entry!r}: the factory failed: {exc}") from None
    if not callable(getattr(found, "score", None)):
        raise ConfigError(f"input.detector {entry!r} has no score(text) method")
    return found


def build_services(
    *,
    config: SafetyConfig | None = None,
    model: BaseChatModel | None = None,
    model_name: str | None = None,
    root: str | Path | None = None,
    **overrides: Any,
) -> Services:
    """Create the stores under the data folder, load the tools (running their packs' setup) and
    bind config and model. `tools=` replaces `[tools] load`; `resources=` adds process-wide tool
    resources."""
    from safe_agent.models import OFFLINE_MODEL_NAME, ladder_slots
    from safe_agent.stores.vault import Vault

    config = config or load_config()
    paths = data_paths(root)
    private_folder(paths.root)  # the data folder is 0700: its files are private
    loaded = _tool_set(config, overrides.pop("tools", None))
    if model is None:
        model, default_name, provider = default_model(config)
        model_name = model_name or default_name
    else:
        provider = overrides.pop("provider", "injected")
        model_name = model_name or getattr(model, "model_name", None) or OFFLINE_MODEL_NAME
    if "fallbacks" not in overrides and "cheap" not in overrides:
        overrides["fallbacks"], overrides["cheap"] = ladder_slots(config)
    if config.routing.cache_ttl_s is not None:
        overrides.setdefault("response_cache", ResponseCache(paths.safety))
    return Services(
        config=config,
        model=model,
        model_name=model_name,
        provider=provider,
        tools=loaded.tools,
        resources=_resources(loaded, paths.root, overrides.pop("resources", None)),
        system_prompt=config.model.system_prompt or "\n\n".join(loaded.prompts) or GENERIC_PROMPT,
        detector=overrides.pop("detector", None) or load_detector(config.input.detector),
        audit=open_audit(paths, config),
        breakers=BreakerStore(paths.safety),
        executions=ExecutionLedger(paths.safety),
        switches=KillSwitchStore(paths.safety),
        paths=paths,
        spend=SpendLedger(paths.spend),
        rate_limits=RateLimitStore(paths.safety),
        decisions=DecisionLedger(paths.safety),
        runs=RunLedger(paths.safety),
        vault=overrides.pop("vault", None) or Vault(paths.safety, paths.vault_key),
        **overrides,
    )
