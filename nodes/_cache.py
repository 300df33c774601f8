"""Serve an identical read-only model turn from `stores.response_cache` (`[routing] cache_ttl_s`).

Off by default. A turn qualifies only when the run has used nothing but read-only tools since
the user's message; a reply is stored only when it proposes nothing but read-only calls. The key
is a SHA-256 over the principal, the tool set with its policies, the whole config (the policy
version) and the prompt without message ids, so it differs whenever any of them does.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from langchain_core.messages import (
    AIMessage,
    AnyMessage,
    HumanMessage,
    ToolMessage,
    message_to_dict,
    messages_from_dict,
)

from safe_agent.graph.services import Services
from safe_agent.graph.state import State
from safe_agent.policies.verdict import Tier


def _read_only(services: Services, name: str | None) -> bool:
    spec = services.tools.get(name or "")
    return spec is not None and spec.policy.tier is Tier.READ_ONLY


def turn_is_read_only(services: Services, state: State) -> bool:
    """Say whether every tool result since the user's message came from a read-only tool."""
    messages = state.get("messages", [])
    start = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1)
    return all(
        _read_only(services, m.name) for m in messages[start + 1 :] if isinstance(m, ToolMessage)
    )


def _prompt_shape(messages: list[AnyMessage]) -> list[dict[str, Any]]:
    """The prompt as the model sees it, without the ids that differ between identical requests."""
    return [
        {
            "type": m.type,
            "content": m.content,
            "name": getattr(m, "name", None),
            "calls": [(c["name"], c["args"]) for c in getattr(m, "tool_calls", None) or []],
        }
        for m in messages
    ]


def cache_key(services: Services, state: State, messages: list[AnyMessage]) -> str:
    """The key of this turn: principal, tool set and policies, config version, prompt."""
    principal = state.get("principal") or {}
    tools = {n: t.policy.model_dump(mode="json") for n, t in sorted(services.tools.items())}
    material = {
        "principal": [principal.get("user_id"), principal.get("role"), principal.get("tenant")],
        "tools": tools,
        "config": services.config.model_dump(mode="json"),
        "prompt": _prompt_shape(messages),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()


def cached_reply(services: Services, state: State, messages: list[AnyMessage]) -> AIMessage | None:
    """Return a stored answer for this exact read-only turn or None (also when the cache is off)."""
    ttl = services.config.routing.cache_ttl_s
    if ttl is None or services.response_cache is None or not turn_is_read_only(services, state):
        return None
    found = services.response_cache.get(
        cache_key(services, state, messages), now=services.clock(), ttl_s=ttl
    )
    if found is None:
        return None
    try:
        [reply] = messages_from_dict([found])
    except (KeyError, TypeError, ValueError):
        return None
    return reply if isinstance(reply, AIMessage) else None


def remember(
    services: Services, state: State, messages: list[AnyMessage], reply: AIMessage
) -> None:
    """Store a reply of a read-only turn that proposes only read-only calls (if the cache is on)."""
    ttl = services.config.routing.cache_ttl_s
    if ttl is None or services.response_cache is None or reply.invalid_tool_calls:
        return
    if not turn_is_read_only(services, state) or not all(
        _read_only(services, c["name"]) for c in reply.tool_calls
    ):
        return
    stored = reply.model_copy(update={"usage_metadata": None, "id": None})
    services.response_cache.put(
        cache_key(services, state, messages),
        message_to_dict(stored),
        now=services.clock(),
        ttl_s=ttl,
    )
