"""Wrap your own tools in the safety contract: plain functions, LangChain tools and MCP servers.

Each wrapper returns a `ToolSpec` whose argument schema forbids extra keys (what authorize
validates is exactly what runs) and whose policy is the one you pass, else the fail-closed
default (irreversible, every argument a sink, untrusted output). The operator's
`[tools.policies.NAME]` replaces either. Results that are not a JSON object are wrapped as
`{"result": ...}`; a tool's own error becomes a structured `ToolFailure`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import json
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, get_type_hints

import pydantic
from langchain_core.tools import BaseTool, ToolException
from pydantic import ConfigDict

from safe_agent.policies.config import ToolPolicy
from safe_agent.tools.pack import ToolLoadError
from safe_agent.tools.spec import ToolCallContext, ToolFailure, ToolSpec

_JSON_TYPES: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "array": list,
    "object": dict,
}


def run_coroutine(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine to completion from sync code, also when this thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def as_result(value: Any) -> Any:
    """Shape a tool's return value as JSON-safe data: objects stay objects, the rest is wrapped."""
    if isinstance(value, list) and all(
        isinstance(b, dict) and b.get("type") == "text" for b in value
    ):
        value = "\n".join(str(b.get("text", "")) for b in value)  # MCP text content blocks
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            value = json.loads(value)
        except ValueError:
            pass
    if isinstance(value, dict):
        return value
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json")
    return {"result": value}


def _strict(schema: type[pydantic.BaseModel], name: str) -> type[pydantic.BaseModel]:
    """Return `schema` with extra keys forbidden, so a smuggled argument is refused, not ignored."""
    if schema.model_config.get("extra") == "forbid":
        return schema
    config = ConfigDict(**{**schema.model_config, "extra": "forbid"})  # type: ignore[typeddict-item]
    return type(
        f"{name}_args", (schema,), {"model_config": config, "__module__": schema.__module__}
    )


def schema_from_json(schema: Mapping[str, Any], name: str) -> type[pydantic.BaseModel]:
    """Build a strict pydantic model from an MCP tool's JSON Schema (top-level properties).

    Nested shapes are checked as their JSON type; the MCP server validates the rest itself.
    """
    required = set(schema.get("required") or ())
    fields: dict[str, Any] = {}
    for arg, spec in (schema.get("properties") or {}).items():
        kind = spec.get("type") if isinstance(spec, Mapping) else None
        py_type = _JSON_TYPES.get(kind, Any) if isinstance(kind, str) else Any
        described = (
            pydantic.Field(description=spec.get("description"))
            if arg in required
            else (pydantic.Field(default=spec.get("default"), description=spec.get("description")))
        )
        fields[arg] = (py_type if arg in required else py_type | None, described)
    return pydantic.create_model(f"{name}_args", __config__=ConfigDict(extra="forbid"), **fields)


def tool_from_function(
    fn: Callable[..., Any],
    *,
    policy: ToolPolicy | None = None,
    name: str | None = None,
    description: str | None = None,
) -> ToolSpec:
    """Wrap a typed Python function (sync or async); a `ToolCallContext` parameter is injected.

    The argument schema comes from the signature's type hints and defaults; the description
    from the docstring. Raise `ToolFailure` for an expected refusal.
    """
    tool_name = name or fn.__name__
    hints = get_type_hints(fn)
    fields: dict[str, Any] = {}
    context_param = None
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TypeError(f"tool {tool_name!r}: *{param.name} has no schema; name every argument")
        hint = hints.get(param.name, Any)
        if hint is ToolCallContext:
            context_param = param.name
            continue
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (hint, default)
    schema = pydantic.create_model(
        f"{tool_name}_args", __config__=ConfigDict(extra="forbid"), **fields
    )
    text = description or inspect.getdoc(fn) or ""
    if not text:
        raise TypeError(f"tool {tool_name!r} needs a description (a docstring)")

    def run(args: pydantic.BaseModel, ctx: ToolCallContext) -> Any:
        kwargs = {k: getattr(args, k) for k in fields}
        if context_param:
            kwargs[context_param] = ctx
        value = fn(**kwargs)
        return as_result(run_coroutine(value) if inspect.isawaitable(value) else value)

    return ToolSpec(
        name=tool_name, description=text, args_schema=schema, run=run, policy=policy or ToolPolicy()
    )


def _async_only(tool: BaseTool) -> bool:
    """Say whether a tool must be awaited: `coroutine=` without `func=`, or its own `_arun`.

    A `BaseTool` subclass must define `_run`, so an async-only one defines a `_run` that raises;
    its `_arun` is the real implementation, so it is preferred whenever the class has one.
    """
    if hasattr(tool, "coroutine"):  # StructuredTool, Tool: either function may be set
        return getattr(tool, "func", None) is None and tool.coroutine is not None
    return type(tool)._arun is not BaseTool._arun


def _refuse_injected(tool: BaseTool, shown: type[pydantic.BaseModel]) -> None:
    """Refuse required LangChain-injected arguments: nothing fills them, so every call fails."""
    if isinstance(tool.args_schema, dict):
        return
    full = tool.get_input_schema().model_fields
    hidden = sorted(n for n, f in full.items() if f.is_required() and n not in shown.model_fields)
    if hidden:
        raise TypeError(
            f"tool {tool.name!r}: injected arguments {hidden} are not filled in; "
            "take a ToolCallContext through tool_from_function instead"
        )


def tool_from_langchain(tool: BaseTool, *, policy: ToolPolicy | None = None) -> ToolSpec:
    """Wrap a LangChain tool (`@tool`, `StructuredTool`, any `BaseTool`, MCP adapter tools).

    The tool's own `handle_tool_error` is switched off: an error it would have returned as
    ordinary text must reach the executor as a failure (audited, `status="error"`), not as data.
    """
    if tool.handle_tool_error:
        tool = tool.model_copy(update={"handle_tool_error": False})
    raw = tool.tool_call_schema  # the model-facing schema: injected arguments left out
    if isinstance(raw, dict):
        schema = schema_from_json(raw, tool.name)
    else:
        schema = _strict(raw, tool.name)
        _refuse_injected(tool, raw)

    use_async = _async_only(tool)

    def run(args: pydantic.BaseModel, ctx: ToolCallContext) -> Any:
        payload = args.model_dump(exclude_none=isinstance(raw, dict))
        try:
            value = run_coroutine(tool.ainvoke(payload)) if use_async else tool.invoke(payload)
        except ToolException as exc:
            raise ToolFailure("tool_error", str(exc)[:500]) from None
        return as_result(value)

    return ToolSpec(
        name=tool.name,
        description=tool.description or tool.name,
        args_schema=schema,
        run=run,
        policy=policy or ToolPolicy(),
    )


def tools_from_mcp(
    connections: Mapping[str, Mapping[str, Any]],
    *,
    policies: Mapping[str, ToolPolicy] | None = None,
) -> tuple[ToolSpec, ...]:
    """List the tools of MCP servers (stdio or streamable HTTP) and wrap each with its policy.

    `connections` is `langchain_mcp_adapters.client.MultiServerMCPClient`'s: e.g.
    `{"files": {"transport": "stdio", "command": "python", "args": ["server.py"]}}` or
    `{"crm": {"transport": "streamable_http", "url": "http://127.0.0.1:8000/mcp"}}`.
    A tool with no entry in `policies` gets the fail-closed default; an entry naming a tool no
    server has raises `ToolLoadError` (a typo would otherwise go unnoticed).
    """
    from langchain_mcp_adapters.client import MultiServerMCPClient

    # handle_tool_errors=False: an MCP error result raises, and becomes a structured failure
    client = MultiServerMCPClient(dict(connections), handle_tool_errors=False)  # type: ignore[arg-type]
    listed = run_coroutine(client.get_tools())
    chosen = dict(policies or {})
    unknown = sorted(set(chosen) - {t.name for t in listed})
    if unknown:
        raise ToolLoadError(f"MCP policies for tools the servers do not have: {unknown}")
    return tuple(tool_from_langchain(t, policy=chosen.get(t.name)) for t in listed)


def wrap_tool(obj: Any, policy: ToolPolicy | None = None) -> ToolSpec:
    """Wrap any supported tool object; a `ToolSpec` passes through (with `policy`, if given)."""
    if isinstance(obj, ToolSpec):
        return obj.with_policy(policy) if policy else obj
    if isinstance(obj, BaseTool):
        return tool_from_langchain(obj, policy=policy)
    if callable(obj):
        return tool_from_function(obj, policy=policy)
    raise TypeError(f"cannot use {type(obj).__name__} as a tool")
