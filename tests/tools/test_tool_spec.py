"""Tool contracts: registry, schemas, OpenAI descriptions, contexts and structured failures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pydantic
import pytest

from safe_agent.policies.verdict import Role, Tier
from safe_agent.tools.search_kb import SearchKbArgs
from safe_agent.tools.spec import ToolCallContext, ToolFailure, expect_args, idempotency_key_for
from safe_agent.tools.support_desk import ALL_TOOL_NAMES, default_tools

VALID_ARGS: dict[str, dict[str, Any]] = {
    "search_kb": {"query": "refund"},
    "get_order": {"order_id": "1001"},
    "update_shipping_address": {"order_id": "1001", "new_address": "1 New Road, Leeds"},
    "send_email": {"to": "ada.lovelace@example.com", "subject": "Hi", "body": "Hello"},
    "issue_refund": {"order_id": "1001", "amount_usd": 10.0, "reason": "late"},
    "delete_customer": {"customer_id": "C-100"},
}

EXPECTED_CONTRACT = {
    "search_kb": (Role.READ, Tier.READ_ONLY, True, 5.0),
    "get_order": (Role.READ, Tier.READ_ONLY, True, 5.0),
    "update_shipping_address": (Role.WRITE, Tier.REVERSIBLE, True, 10.0),
    "send_email": (Role.WRITE, Tier.IRREVERSIBLE, False, 10.0),
    "issue_refund": (Role.WRITE, Tier.IRREVERSIBLE, False, 10.0),
    "delete_customer": (Role.ADMIN, Tier.DESTRUCTIVE, True, 10.0),
}


def test_registry_holds_all_six_tools_by_name() -> None:
    registry = default_tools()
    assert set(registry) == set(ALL_TOOL_NAMES) == set(EXPECTED_CONTRACT)
    assert all(spec.name == name for name, spec in registry.items())


def test_default_tools_returns_a_fresh_map() -> None:
    default_tools().pop("delete_customer")
    assert "delete_customer" in default_tools()


@pytest.mark.parametrize("name", sorted(EXPECTED_CONTRACT))
def test_contract_of_each_tool(name: str) -> None:
    spec = default_tools()[name]
    assert (spec.required_role, spec.tier, spec.idempotent, spec.timeout_s) == EXPECTED_CONTRACT[
        name
    ]


@pytest.mark.parametrize("name", sorted(VALID_ARGS))
def test_as_openai_tool_lists_the_schema_properties(name: str) -> None:
    described = default_tools()[name].as_openai_tool()
    assert described["type"] == "function"
    function = described["function"]
    assert function["name"] == name and function["description"]
    assert function["parameters"]["type"] == "object"
    assert set(function["parameters"]["properties"]) == set(
        default_tools()[name].args_schema.model_fields
    )
    assert set(VALID_ARGS[name]) <= set(function["parameters"]["properties"])
    assert function["parameters"]["additionalProperties"] is False


@pytest.mark.parametrize("name", sorted(VALID_ARGS))
def test_schemas_accept_valid_args(name: str) -> None:
    default_tools()[name].validate_args(VALID_ARGS[name])


@pytest.mark.parametrize("name", sorted(VALID_ARGS))
def test_schemas_reject_extra_fields(name: str) -> None:
    with pytest.raises(pydantic.ValidationError, match="extra"):
        default_tools()[name].validate_args({**VALID_ARGS[name], "approved": True})


@pytest.mark.parametrize(
    ("name", "field", "bad"),
    [
        ("search_kb", "query", ["refund"]),
        ("search_kb", "limit", "many"),
        ("get_order", "order_id", 1001),
        ("update_shipping_address", "new_address", {"street": "x"}),
        ("send_email", "to", None),
        ("issue_refund", "amount_usd", "fifty"),
        ("delete_customer", "customer_id", 100),
    ],
)
def test_schemas_reject_bad_types(name: str, field: str, bad: Any) -> None:
    with pytest.raises(pydantic.ValidationError):
        default_tools()[name].validate_args({**VALID_ARGS[name], field: bad})


@pytest.mark.parametrize("name", sorted(VALID_ARGS))
def test_schemas_reject_missing_required_fields(name: str) -> None:
    required = [
        f
        for f, info in default_tools()[name].args_schema.model_fields.items()
        if info.is_required()
    ]
    assert required
    with pytest.raises(pydantic.ValidationError):
        default_tools()[name].validate_args(
            {k: v for k, v in VALID_ARGS[name].items() if k != required[0]}
        )


def test_idempotency_key_is_stable_per_thread_and_call() -> None:
    assert idempotency_key_for("t1", "c1") == idempotency_key_for("t1", "c1")
    assert idempotency_key_for("t1", "c1") != idempotency_key_for("t1", "c2")
    assert idempotency_key_for("t1", "c1") != idempotency_key_for("t2", "c1")
    ctx = ToolCallContext.for_call("u", "t1", "c1")
    assert ctx.idempotency_key == idempotency_key_for("t1", "c1")


def test_context_is_frozen() -> None:
    ctx = ToolCallContext.for_call("u", "t1", "c1")
    with pytest.raises(AttributeError):
        ctx.user_id = "admin"  # type: ignore[misc]


def test_tool_failure_carries_code_and_message() -> None:
    failure = ToolFailure("order_not_found", "No order with id 9999.")
    assert (failure.code, failure.message) == ("order_not_found", "No order with id 9999.")
    assert failure.to_dict() == {"error": "order_not_found", "message": "No order with id 9999."}


def test_expect_args_refuses_another_tools_args() -> None:
    other = default_tools()["get_order"].validate_args({"order_id": "1001"})
    with pytest.raises(TypeError):
        expect_args(other, SearchKbArgs)


def test_package_exports() -> None:
    # A subprocess imports the real package, from a folder whose own tools/ must not shadow it.
    code = (
        "from safe_agent import tools; "
        "assert set(tools.__all__) >= {'ToolSpec', 'ToolCallContext', 'ToolFailure', "
        "'ToolPolicy', 'ToolPack', 'tool_from_function', 'tool_from_langchain', "
        "'tools_from_mcp'}; "
        "assert all(hasattr(tools, n) for n in tools.__all__); "
        "assert tools.__file__.endswith('tools/__init__.py')"
    )
    project_root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=project_root, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
