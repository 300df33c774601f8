"""Tool packs and the loader behind `[tools] load`: how Python, the CLI and Studio get their tools.

An entry is `module:attribute` or `path/to/file.py:attribute`. The attribute may be a `ToolPack`,
a `ToolSpec`, a LangChain tool, a plain typed function, or a list or tuple of these. Everything
is wrapped into `ToolSpec`s; the operator's `[tools.policies.NAME]` then replaces the policy
declared in code. A tool that nobody gave a policy keeps the fail-closed default.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import PydanticUserError

from safe_agent.policies.config import ToolPolicy
from safe_agent.tools.spec import ToolSpec

Setup = Callable[[Path], Mapping[str, Any]]


class ToolLoadError(ValueError):
    """A `[tools] load` entry or a tool policy cannot be used; the message names which and why."""


@dataclass(frozen=True)
class ToolPack:
    """Tools that belong together, with the prompt that explains them and what they need to run.

    Attributes:
        name: a short label, shown in errors and docs.
        tools: the pack's tools.
        system_prompt: the system prompt for an agent built on this pack (the operator's
            `[model] system_prompt` wins).
        setup: called once per process with the data folder; returns resources the tools read
            from `ToolCallContext.resources` (a database path, a client). Files are created here,
            so nothing is created for a pack that is not loaded.
    """

    name: str
    tools: tuple[ToolSpec, ...]
    system_prompt: str | None = None
    setup: Setup | None = None

    def only(self, *names: str) -> ToolPack:
        """Return the pack with just the named tools (same prompt and setup)."""
        missing = set(names) - {t.name for t in self.tools}
        if missing:
            raise ToolLoadError(f"pack {self.name} has no tools {sorted(missing)}")
        return replace(self, tools=tuple(t for t in self.tools if t.name in names))

    def with_tools(self, *specs: ToolSpec) -> ToolPack:
        """Return the pack with `specs` added, each replacing a pack tool of the same name."""
        names = {s.name for s in specs}
        return replace(self, tools=(*(t for t in self.tools if t.name not in names), *specs))


@dataclass
class LoadedTools:
    """What the loader produced: tools by name, the packs' prompts and their setup functions."""

    tools: dict[str, ToolSpec] = field(default_factory=dict)
    prompts: list[str] = field(default_factory=list)
    setups: list[Setup] = field(default_factory=list)

    def add(self, spec: ToolSpec, where: str) -> None:
        """Add one tool; two tools of one name are a configuration error, not a silent override."""
        if spec.name in self.tools:
            raise ToolLoadError(f"{where}: a tool named {spec.name!r} is already loaded")
        self.tools[spec.name] = spec

    def resources(self, root: Path) -> dict[str, Any]:
        """Run every pack's setup under `root` and merge what they return."""
        merged: dict[str, Any] = {}
        for setup in self.setups:
            merged.update(setup(root))
        return merged


def import_entry(entry: str) -> Any:
    """Return the object an entry names, from an importable module or a `.py` file."""
    module_name, sep, attribute = entry.partition(":")
    if not sep or not module_name or not attribute:
        raise ToolLoadError(f"tool entry {entry!r} must look like module:attribute")
    try:
        if module_name.endswith(".py"):
            module = _module_from_file(Path(module_name))
        else:
            module = importlib.import_module(module_name)
    except ToolLoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - any import failure is reported in one line
        raise ToolLoadError(f"tool entry {entry!r}: cannot import: {exc}") from None
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ToolLoadError(f"tool entry {entry!r}: {module_name} has no {attribute!r}") from None


def _module_from_file(path: Path) -> Any:
    """Import a user's tool file by path, under a private module name."""
    if not path.is_file():
        raise ToolLoadError(f"tool file {path} does not exist")
    name = f"safe_agent_user_tools_{abs(hash(path.resolve()))}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ToolLoadError(f"tool file {path} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before running it, as dataclasses and pickling look it up
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]  # a failed import is not cached: fixing the file and retrying works
        raise
    return module


def collect(obj: Any, where: str, into: LoadedTools) -> None:
    """Wrap `obj` (a pack, a spec, a LangChain tool, a function, or a list of them) into `into`."""
    from safe_agent.tools.adapters import wrap_tool

    if isinstance(obj, ToolPack):
        for item in obj.tools:
            collect(item, f"{where} (pack {obj.name})", into)
        if obj.system_prompt:
            into.prompts.append(obj.system_prompt)
        if obj.setup is not None:
            into.setups.append(obj.setup)
        return
    if isinstance(obj, (list, tuple, dict)):
        for item in obj.values() if isinstance(obj, dict) else obj:
            collect(item, where, into)
        return
    try:
        spec = wrap_tool(obj)
    except (TypeError, NameError, PydanticUserError) as exc:  # no schema, no docstring, bad hint
        raise ToolLoadError(f"{where}: {str(exc).splitlines()[0]}") from None
    into.add(spec, where)


def load_tools(entries: Iterable[str], policies: Mapping[str, ToolPolicy]) -> LoadedTools:
    """Load every entry in order, then apply the operator's per-tool policies."""
    loaded = LoadedTools()
    for entry in entries:
        collect(import_entry(entry), f"tool entry {entry!r}", loaded)
    return with_policies(loaded, policies)


def with_policies(loaded: LoadedTools, policies: Mapping[str, ToolPolicy]) -> LoadedTools:
    """Replace the declared policy of each named tool; a policy for an unloaded tool is an error."""
    for name, policy in policies.items():
        if name not in loaded.tools:
            raise ToolLoadError(f"tools.policies.{name}: no tool of that name is loaded")
        try:
            loaded.tools[name] = loaded.tools[name].with_policy(policy)
        except ValueError as exc:
            raise ToolLoadError(f"tools.policies.{name}: {exc}") from None
    return loaded
