"""Scripted replies and stand-in failures shared by the graph tests."""

from __future__ import annotations

import itertools
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from safe_agent.policies.config import SafetyConfig

_ids = itertools.count(1)


def tool_call(name: str, **args: Any) -> AIMessage:
    """Return a model reply proposing one tool call."""
    return AIMessage(
        content="", tool_calls=[{"id": f"call_{next(_ids)}", "name": name, "args": args}]
    )


def answer(text: str) -> AIMessage:
    """Return a final model answer."""
    return AIMessage(content=text)


class HTTPStatusError(Exception):
    """Stands in for a provider SDK error that carries an HTTP status."""

    def __init__(self, status_code: int) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code


def always_calls(name: str, **args: Any):  # noqa: ANN201 - a respond function
    """Return a respond function that proposes the same tool call forever (a runaway model)."""

    def respond(messages: list[BaseMessage]) -> AIMessage:
        return tool_call(name, **args)

    return respond


def fail_then(failures: list[Exception], reply: AIMessage):  # noqa: ANN201
    """Return a respond function that raises the given errors in turn, then answers."""
    queue = list(failures)

    def respond(messages: list[BaseMessage]) -> AIMessage:
        if queue:
            raise queue.pop(0)
        return reply.model_copy()

    return respond


def make_config(**sections: Any) -> SafetyConfig:
    """Build a config from the defaults with some sections overridden, e.g. budget={...}."""
    base = SafetyConfig().model_dump()
    for key, value in sections.items():
        base[key] = {**base[key], **value} if isinstance(base.get(key), dict) else value
    return SafetyConfig.model_validate(base)


FAST_RETRY = {"base_delay_s": 0.0, "max_jitter_s": 0.0}
