"""The shape every tool takes: a declared contract the safety nodes can check before running it.

A tool is data first (name, argument schema and a `ToolPolicy`: role, side-effect tier, timeout,
sinks, output trust) and code second (`run`). Policies read the data to decide whether a call may
happen; only the executor calls `run`, and only with validated arguments and a runtime-built
`ToolCallContext`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import pydantic

from safe_agent.policies.config import ToolPolicy
from safe_agent.policies.verdict import Role, Tier

READ_TIMEOUT_S = 5.0
WRITE_TIMEOUT_S = 10.0

ArgsT = TypeVar("ArgsT", bound=pydantic.BaseModel)


@dataclass(frozen=True, slots=True)
class ToolCallContext:
    """What a tool may know about the call: never the model's say, always the runtime's.

    Attributes:
        user_id: who the agent acts for, as authenticated (the run's requester).
        role: that principal's role.
        tenant: that principal's tenant, if any.
        thread_id: the conversation the call belongs to.
        tool_call_id: the model's id for this call within the thread.
        idempotency_key: stable per (thread, tool_call_id, action digest); write tools pass it
            downstream so a retried or resumed call never repeats its side effect.
        resources: what the tool pack set up (a database path, a client) plus the caller's
            per-run resources; a pack's own entries cannot be overridden per run.
    """

    user_id: str
    thread_id: str
    tool_call_id: str
    idempotency_key: str
    role: str = "read"
    tenant: str | None = None
    resources: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def for_call(
        cls,
        user_id: str,
        thread_id: str,
        tool_call_id: str,
        **fields: Any,
    ) -> ToolCallContext:
        """Build a context whose idempotency key is derived from (thread, tool_call_id).

        Deriving rather than generating the key means a replay of the same call after a crash
        or an approval pause carries the same key, so the downstream system deduplicates it.
        """
        key = idempotency_key_for(thread_id, tool_call_id)
        return cls(
            user_id=user_id,
            thread_id=thread_id,
            tool_call_id=tool_call_id,
            idempotency_key=key,
            **fields,
        )

    def resource(self, name: str) -> Any:
        """Return a named resource; a missing one is a structured tool failure, not a crash."""
        if name not in self.resources:
            raise ToolFailure("missing_resource", f"this tool needs the {name!r} resource")
        return self.resources[name]


def idempotency_key_for(thread_id: str, tool_call_id: str) -> str:
    """Return the stable idempotency key of one tool call in one thread."""
    digest = hashlib.sha256(f"{thread_id}\x1f{tool_call_id}".encode()).hexdigest()
    return f"idem-{digest[:32]}"


class ToolFailure(Exception):
    """A tool's expected failure (bad order id, amount too high).

    It becomes a structured error result, not a crash.

    A plain `ToolFailure` is the tool saying "no": it is final, never retried, and the tool
    counts as healthy. `transient=True` says instead "the system behind me is busy or down,
    nothing happened, try later": the executor may retry it (only a tool that is safe to repeat)
    and the tool's breaker counts it as a failure.

    Attributes:
        code: a short machine-readable reason, e.g. "order_not_found".
        message: a sentence safe to show the model and the user.
        transient: the failure may pass if the call is tried again.
        retry_after_s: how long the dependency asked callers to wait (its `Retry-After`), if known.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        transient: bool = False,
        retry_after_s: float | None = None,
    ) -> None:
        """Keep the code apart from the message so callers can branch on it."""
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.transient = transient
        self.retry_after_s = retry_after_s

    def to_dict(self) -> dict[str, str]:
        """Return the JSON-safe error result the executor hands back to the model."""
        return {"error": self.code, "message": self.message}


RunFn = Callable[[pydantic.BaseModel, ToolCallContext], Any]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """One tool's contract: what it takes, what it does (its policy) and the code that does it.

    Attributes:
        name: the name the model calls the tool by.
        description: what the model is told the tool does.
        args_schema: a pydantic model with extra="forbid"; the only shape `run` accepts.
        run: the implementation; returns JSON-safe data or raises `ToolFailure`.
        policy: tier, least role, timeout, idempotency, sinks and output trust; the default
            is the fail-closed policy (irreversible, every argument a sink, untrusted output).
    """

    name: str
    description: str
    args_schema: type[pydantic.BaseModel]
    run: RunFn
    policy: ToolPolicy = field(default_factory=ToolPolicy)

    @property
    def tier(self) -> Tier:
        """The side-effect tier, which decides whether approval is needed."""
        return self.policy.tier

    @property
    def required_role(self) -> Role:
        """The least role a caller needs."""
        return self.policy.required_role

    @property
    def timeout_s(self) -> float:
        """How long the executor lets `run` take."""
        return self.policy.timeout_s

    @property
    def idempotent(self) -> bool:
        """Whether running twice has the same effect as running once."""
        return self.policy.idempotent

    @property
    def retry_safe(self) -> bool:
        """Whether a transient failure may be retried: repeating cannot repeat the effect.

        True for an idempotent tool, and for one that deduplicates on `ctx.idempotency_key`
        (the key is the same on every attempt of a call).
        """
        return self.policy.idempotent or self.policy.accepts_idempotency_key

    @property
    def sinks(self) -> tuple[str, ...]:
        """The arguments whose provenance is checked: every argument unless declared."""
        if self.policy.sinks is None:
            return tuple(self.args_schema.model_fields)
        return self.policy.sinks

    def with_policy(self, policy: ToolPolicy) -> ToolSpec:
        """Return this tool under another policy (the operator's config wins over code)."""
        unknown = [s for s in policy.sinks or () if s not in self.args_schema.model_fields]
        if unknown:
            raise ValueError(f"{self.name}: sinks {unknown} are not arguments of the tool")
        return replace(self, policy=policy)

    def validate_args(self, raw: Mapping[str, Any]) -> pydantic.BaseModel:
        """Parse raw model-supplied arguments; raise pydantic.ValidationError if they do not fit."""
        return self.args_schema.model_validate(dict(raw))

    def as_openai_tool(self) -> dict[str, Any]:
        """Describe the tool in the OpenAI function-calling format.

        That way the model sees the same schema we enforce.
        """
        parameters = self.args_schema.model_json_schema()
        parameters.pop("title", None)
        parameters.pop(
            "description", None
        )  # the args docstring; the tool description says it better
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": parameters,
            },
        }


def expect_args(args: pydantic.BaseModel, model: type[ArgsT]) -> ArgsT:
    """Narrow a tool's generic args to its own schema, refusing anything else.

    `ToolSpec.run` takes any BaseModel so all tools share one signature; each tool calls this
    first so that a mis-wired executor fails loudly instead of running on the wrong shape.
    """
    if not isinstance(args, model):
        raise TypeError(f"expected {model.__name__}, got {type(args).__name__}")
    return args
