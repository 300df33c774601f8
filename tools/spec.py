"""The shape every tool takes: a declared contract the safety nodes can check before running it.

A tool is data first (name, argument schema, role, side-effect tier, timeout) and code second
(`run`). Policies read the data to decide whether a call may happen; only the executor calls
`run`, and only with validated arguments and a runtime-built `ToolCallContext`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import pydantic

from policies.verdict import Role, Tier

READ_TIMEOUT_S = 5.0
WRITE_TIMEOUT_S = 10.0

ArgsT = TypeVar("ArgsT", bound=pydantic.BaseModel)


@dataclass(frozen=True, slots=True)
class ToolCallContext:
    """What a tool may know about the call: never the model's say, always the runtime's.

    Attributes:
        desk_db_path: the SQLite file holding the support desk's data.
        user_id: who the agent acts for, as authenticated by the runtime.
        thread_id: the conversation the call belongs to.
        tool_call_id: the model's id for this call within the thread.
        idempotency_key: stable per (thread, tool_call_id); write tools pass it downstream so a
            retried or resumed call never repeats its side effect.
    """

    desk_db_path: str
    user_id: str
    thread_id: str
    tool_call_id: str
    idempotency_key: str

    @classmethod
    def for_call(cls, desk_db_path: str, user_id: str, thread_id: str, tool_call_id: str) -> ToolCallContext:
        """Build a context whose idempotency key is derived from (thread, tool_call_id).

        Deriving rather than generating the key means a replay of the same call after a crash
        or an approval pause carries the same key, so the desk deduplicates it.
        """
        return cls(
            desk_db_path=desk_db_path,
            user_id=user_id,
            thread_id=thread_id,
            tool_call_id=tool_call_id,
            idempotency_key=idempotency_key_for(thread_id, tool_call_id),
        )


def idempotency_key_for(thread_id: str, tool_call_id: str) -> str:
    """Return the stable idempotency key of one tool call in one thread."""
    digest = hashlib.sha256(f"{thread_id}\x1f{tool_call_id}".encode()).hexdigest()
    return f"idem-{digest[:32]}"


class ToolFailure(Exception):
    """A tool's expected failure (bad order id, amount too high): becomes a structured error result, not a crash.

    Attributes:
        code: a short machine-readable reason, e.g. "order_not_found".
        message: a sentence safe to show the model and the user.
    """

    def __init__(self, code: str, message: str) -> None:
        """Keep the code apart from the message so callers can branch on it."""
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def to_dict(self) -> dict[str, str]:
        """Return the JSON-safe error result the executor hands back to the model."""
        return {"error": self.code, "message": self.message}


RunFn = Callable[[pydantic.BaseModel, ToolCallContext], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """One tool's contract: what it takes, who may call it, how much harm it can do.

    Attributes:
        name: the name the model calls the tool by.
        description: what the model is told the tool does.
        args_schema: a pydantic model with extra="forbid"; the only shape `run` accepts.
        required_role: the least role a caller needs.
        tier: the side-effect tier, which decides whether approval is needed.
        timeout_s: how long the executor lets `run` take.
        idempotent: whether running twice has the same effect as running once.
        run: the implementation; returns a JSON-safe dict or raises `ToolFailure`.
    """

    name: str
    description: str
    args_schema: type[pydantic.BaseModel]
    required_role: Role
    tier: Tier
    timeout_s: float
    idempotent: bool
    run: RunFn

    def validate_args(self, raw: Mapping[str, Any]) -> pydantic.BaseModel:
        """Parse raw model-supplied arguments; raise pydantic.ValidationError when they do not fit."""
        return self.args_schema.model_validate(dict(raw))

    def as_openai_tool(self) -> dict[str, Any]:
        """Describe the tool in the OpenAI function-calling format, so the model sees the same schema we enforce."""
        parameters = self.args_schema.model_json_schema()
        parameters.pop("title", None)
        parameters.pop("description", None)  # the args docstring; the tool description says it better
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": parameters},
        }


def expect_args(args: pydantic.BaseModel, model: type[ArgsT]) -> ArgsT:
    """Narrow a tool's generic args to its own schema, refusing anything else.

    `ToolSpec.run` takes any BaseModel so all tools share one signature; each tool calls this
    first so that a mis-wired executor fails loudly instead of running on the wrong shape.
    """
    if not isinstance(args, model):
        raise TypeError(f"expected {model.__name__}, got {type(args).__name__}")
    return args
