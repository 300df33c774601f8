"""The wrappers for your own tools: plain functions and LangChain tools become strict `ToolSpec`s.

Each test runs the wrapped tool the way the executor does (`spec.run(spec.validate_args(raw),
ctx)`), so what is asserted is what a graph run would get. Loading from config is in
test_tool_loading.py; whole-graph runs are in test_user_tools_graph.py.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import pydantic
import pytest
from langchain_core.tools import BaseTool, InjectedToolArg, StructuredTool, ToolException, tool

from safe_agent.policies.config import ToolPolicy
from safe_agent.policies.verdict import Role, Tier
from safe_agent.tools.adapters import (
    as_result,
    schema_from_json,
    tool_from_function,
    tool_from_langchain,
)
from safe_agent.tools.spec import ToolCallContext, ToolFailure, ToolSpec

CTX = ToolCallContext.for_call("u-1", "thread-1", "call-1", resources={"db": "/tmp/x.db"})


def _call(spec: ToolSpec, **raw: Any) -> Any:
    """Validate and run as the executor does."""
    return spec.run(spec.validate_args(raw), CTX)


def find_orders(customer: str, limit: int = 5, open_only: bool = True) -> list[str]:
    """Return the ids of a customer's orders."""
    return [f"{customer}-{i}" for i in range(limit)]


# --- plain functions -----------------------------------------------------------------------------


def test_function_schema_comes_from_hints_and_defaults() -> None:
    spec = tool_from_function(find_orders)
    schema = spec.args_schema.model_json_schema()
    assert (
        spec.name == "find_orders" and spec.description == "Return the ids of a customer's orders."
    )
    assert schema["required"] == ["customer"]
    assert {k: v["type"] for k, v in schema["properties"].items()} == {
        "customer": "string",
        "limit": "integer",
        "open_only": "boolean",
    }
    assert spec.validate_args({"customer": "C-1"}).model_dump() == {
        "customer": "C-1",
        "limit": 5,
        "open_only": True,
    }
    assert spec.as_openai_tool()["function"]["parameters"]["additionalProperties"] is False


@pytest.mark.parametrize(
    "raw",
    [{"customer": "C-1", "role": "admin"}, {"customer": "C-1", "limit": "many"}, {"limit": 2}],
    ids=["extra-arg", "wrong-type", "missing-required"],
)
def test_function_refuses_arguments_outside_its_signature(raw: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError):
        tool_from_function(find_orders).validate_args(raw)


def test_function_non_dict_result_is_wrapped() -> None:
    assert _call(tool_from_function(find_orders), customer="C", limit=2) == {
        "result": ["C-0", "C-1"]
    }


def test_function_gets_the_call_context_injected_not_from_the_model() -> None:
    def whoami(question: str, ctx: ToolCallContext) -> dict[str, str]:
        """Say who asks."""
        return {"user": ctx.user_id, "key": ctx.idempotency_key, "db": ctx.resource("db")}

    spec = tool_from_function(whoami)
    assert list(spec.args_schema.model_fields) == ["question"]
    assert _call(spec, question="?") == {
        "user": "u-1",
        "key": CTX.idempotency_key,
        "db": "/tmp/x.db",
    }
    with pytest.raises(pydantic.ValidationError):  # the model cannot pass a context of its own
        spec.validate_args({"question": "?", "ctx": {"user_id": "admin"}})


def test_function_async_is_awaited_also_inside_a_running_loop() -> None:
    async def slow_echo(text: str) -> dict[str, str]:
        """Echo after a pause."""
        await asyncio.sleep(0)
        return {"echo": text}

    spec = tool_from_function(slow_echo)
    assert _call(spec, text="hi") == {"echo": "hi"}

    async def inside_a_loop() -> Any:  # e.g. a server that calls the executor from async code
        return _call(spec, text="loop")

    assert asyncio.run(inside_a_loop()) == {"echo": "loop"}


def test_function_without_a_docstring_is_refused_unless_described() -> None:
    def bare(x: int) -> int:
        return x

    with pytest.raises(TypeError, match="needs a description"):
        tool_from_function(bare)
    spec = tool_from_function(bare, name="double", description="Return x.")
    assert (spec.name, spec.description, _call(spec, x=2)) == ("double", "Return x.", {"result": 2})


def test_function_with_star_args_is_refused() -> None:
    def anything(*args: Any, **kwargs: Any) -> None:
        """Take anything."""

    with pytest.raises(TypeError, match="name every argument"):
        tool_from_function(anything)


def test_function_tool_failure_reaches_the_executor_unchanged() -> None:
    def refuse(order_id: str) -> None:
        """Refuse."""
        raise ToolFailure("order_not_found", f"No order {order_id}.")

    with pytest.raises(ToolFailure) as caught:
        _call(tool_from_function(refuse), order_id="9")
    assert caught.value.to_dict() == {"error": "order_not_found", "message": "No order 9."}


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ({"a": 1}, {"a": 1}),
        ("plain text", {"result": "plain text"}),
        ('{"a": 1}', {"a": 1}),
        ("{not json", {"result": "{not json"}),
        (3, {"result": 3}),
        (None, {"result": None}),
        (
            [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}],
            {"result": "one\ntwo"},
        ),
        (ToolPolicy(), ToolPolicy().model_dump(mode="json")),
    ],
    ids=["dict", "text", "json-text", "broken-json", "int", "none", "mcp-blocks", "pydantic"],
)
def test_as_result_shapes_every_return_value_as_an_object(value: Any, shown: Any) -> None:
    assert as_result(value) == shown


# --- LangChain tools -----------------------------------------------------------------------------


@tool
def weather(city: str, unit: str = "C") -> str:
    """Return today's weather in a city."""
    return f"{city}: 21 {unit}"


class _Query(pydantic.BaseModel):
    query: str


class SyncSearch(BaseTool):
    """A `BaseTool` subclass with a sync implementation."""

    name: str = "sync_search"
    description: str = "Search the wiki."
    args_schema: type[pydantic.BaseModel] = _Query

    def _run(self, query: str) -> dict[str, Any]:
        return {"hits": [query], "how": "sync"}


class AsyncSearch(SyncSearch):
    """A subclass whose only real implementation is async."""

    name: str = "async_search"

    def _run(self, query: str) -> dict[str, Any]:
        raise NotImplementedError("async only")

    async def _arun(self, query: str) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"hits": [query], "how": "async"}


async def _lookup(sku: str) -> str:
    """Look a product up."""
    return f"sku {sku} in stock"


@pytest.mark.parametrize(
    ("lc_tool", "raw", "expected"),
    [
        (weather, {"city": "Leeds"}, {"result": "Leeds: 21 C"}),
        (
            StructuredTool.from_function(coroutine=_lookup),
            {"sku": "A1"},
            {"result": "sku A1 in stock"},
        ),
        (SyncSearch(), {"query": "vpn"}, {"hits": ["vpn"], "how": "sync"}),
        (AsyncSearch(), {"query": "vpn"}, {"hits": ["vpn"], "how": "async"}),
    ],
    ids=["at-tool", "structured-async-only", "basetool-sync", "basetool-async-only"],
)
def test_langchain_tool_runs_with_its_strict_schema(
    lc_tool: BaseTool, raw: dict[str, Any], expected: Any
) -> None:
    spec = tool_from_langchain(lc_tool)
    assert (spec.name, spec.description) == (lc_tool.name, lc_tool.description)
    assert _call(spec, **raw) == expected
    with pytest.raises(pydantic.ValidationError):
        spec.validate_args({**raw, "smuggled": "x"})


def test_langchain_json_schema_tool_is_strict_and_drops_unset_optionals() -> None:
    seen: list[dict[str, Any]] = []
    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer"}, "note": {"type": "string"}},
        "required": ["n"],
    }
    lc_tool = StructuredTool(
        name="count", description="Count.", args_schema=schema, func=lambda **kw: seen.append(kw)
    )
    spec = tool_from_langchain(lc_tool)
    _call(spec, n=3)
    assert seen == [{"n": 3}]  # the unset optional is not sent as None
    with pytest.raises(pydantic.ValidationError):
        spec.validate_args({"n": 3, "other": 1})


@pytest.mark.parametrize("handled", [False, True], ids=["raises", "handle_tool_error"])
def test_langchain_tool_exception_becomes_a_structured_failure(handled: bool) -> None:
    def broken(order_id: str) -> str:
        """Fail."""
        raise ToolException(f"order {order_id} is locked")

    lc_tool = StructuredTool.from_function(broken, handle_tool_error=handled)
    with pytest.raises(ToolFailure) as caught:
        _call(tool_from_langchain(lc_tool), order_id="7")
    assert caught.value.to_dict() == {"error": "tool_error", "message": "order 7 is locked"}
    assert lc_tool.handle_tool_error is handled  # the user's tool object is left as it was


def test_langchain_tool_with_a_required_injected_argument_is_refused() -> None:
    @tool
    def whoami(question: str, user: Annotated[str, InjectedToolArg]) -> str:
        """Say who asks."""
        return user

    with pytest.raises(TypeError, match=r"injected arguments \['user'\] are not filled in"):
        tool_from_langchain(whoami)


def test_schema_from_json_required_optional_and_types() -> None:
    model = schema_from_json(
        {
            "properties": {
                "to": {"type": "string", "description": "recipient"},
                "count": {"type": "integer", "default": 1},
                "tags": {"type": "array"},
            },
            "required": ["to"],
        },
        "mail",
    )
    assert model.model_validate({"to": "a@b.c"}).model_dump() == {
        "to": "a@b.c",
        "count": 1,
        "tags": None,
    }
    for bad in ({}, {"to": 1}, {"to": "a", "tags": "x"}, {"to": "a", "cc": "b"}):
        with pytest.raises(pydantic.ValidationError):
            model.model_validate(bad)


# --- policies ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    [
        tool_from_function(find_orders),
        tool_from_langchain(weather),
        tool_from_langchain(SyncSearch()),
    ],
    ids=["function", "at-tool", "basetool"],
)
def test_tool_without_a_policy_fails_closed(spec: ToolSpec) -> None:
    assert (spec.tier, spec.required_role) == (Tier.IRREVERSIBLE, Role.WRITE)
    assert spec.sinks == tuple(spec.args_schema.model_fields)  # every argument is a sink
    assert (spec.policy.trusted_output, spec.policy.trusted_fields) == (False, ())
    assert (spec.idempotent, spec.policy.untrusted_sinks) == (False, "approve")


def test_declared_policy_is_kept_and_sinks_are_checked() -> None:
    policy = ToolPolicy(tier=Tier.READ_ONLY, required_role=Role.READ, sinks=("customer",))
    spec = tool_from_function(find_orders, policy=policy)
    assert (spec.policy, spec.sinks) == (policy, ("customer",))
    with pytest.raises(ValueError, match="not arguments"):
        spec.with_policy(ToolPolicy(sinks=("account",)))
