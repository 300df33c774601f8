"""Build the chat models of the degradation ladder from `[model]`: any `init_chat_model` provider.

The primary is `[model]` itself ("auto": OpenAI when OPENAI_API_KEY is set, else the offline
planner); `[[model.fallbacks]]` and `[model] cheap` are more slots. Every real model is built
with the SDK's own retries off (each attempt goes through the breaker in `nodes._ladder`),
the operator's timeouts, the output allowance every reservation assumes, and usage in streaming
mode (OpenAI asks for it with `stream_usage`; ChatAnthropic reads it from the Messages API's
events by default), so a streamed run is charged what it used. Only the OpenAI client takes
separate connect and read timeouts; other providers' clients take one number, the read timeout
(the ladder's own hard timeout bounds every provider the same way).
"""

from __future__ import annotations

import os
import re
from typing import Any

from langchain_core.language_models import BaseChatModel

from safe_agent.chat_models import OfflinePlanner
from safe_agent.errors import ConfigError
from safe_agent.graph.services import ModelSlot
from safe_agent.policies.config import SafetyConfig
from safe_agent.policies.model_config import AUTO_PROVIDER, OFFLINE_PROVIDER, ModelRoute

OFFLINE_MODEL_NAME = "offline-planner"
USUAL_KEY_ENV = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
"""Where a provider's SDK looks for its key when the route names no `api_key_env`."""
_PIP_HINT = re.compile(r"pip install (?:-U )?([A-Za-z0-9_.\[\]-]+)")


def primary_route(config: SafetyConfig) -> ModelRoute:
    """Resolve `[model]` into a route: "auto" is OpenAI if OPENAI_API_KEY is set, else offline."""
    m = config.model
    provider = m.provider
    if provider == AUTO_PROVIDER:
        provider = (
            "openai" if os.environ.get(m.api_key_env or "OPENAI_API_KEY") else OFFLINE_PROVIDER
        )
    name = OFFLINE_MODEL_NAME if provider == OFFLINE_PROVIDER else m.name
    return ModelRoute(
        provider=provider,
        name=name,
        base_url=m.base_url,
        api_key_env=m.api_key_env,
        read_only=m.read_only,
    )


def _kwargs(route: ModelRoute, config: SafetyConfig, where: str) -> dict[str, Any]:
    """The constructor arguments every provider gets, and the ones only some understand."""
    import httpx

    m = config.model
    kwargs: dict[str, Any] = {
        "temperature": m.temperature,
        "max_tokens": config.budget.max_output_tokens,  # the output allowance every hold assumes
        "max_retries": 0,  # each attempt is ours: it asks the breaker and is charged and audited
        "timeout": m.timeout_s,  # most clients take one number (ChatAnthropic refuses others)
    }
    if route.api_key_env:
        key = os.environ.get(route.api_key_env)
        if not key:
            raise ConfigError(f"{where}.api_key_env: ${route.api_key_env} is not set")
        kwargs["api_key"] = key
    elif route.provider in USUAL_KEY_ENV and not os.environ.get(USUAL_KEY_ENV[route.provider]):
        usual = USUAL_KEY_ENV[route.provider]
        raise ConfigError(
            f"{where}.provider {route.provider!r}: ${usual} is not set "
            f"(or name the variable holding the key in {where}.api_key_env)"
        )
    base_url = route.base_url
    if route.provider == "openai":
        kwargs["timeout"] = httpx.Timeout(m.timeout_s, connect=m.connect_timeout_s)
        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        kwargs["stream_usage"] = True  # usage in streaming mode too: Studio streams by default
    if base_url:
        kwargs["base_url"] = base_url
    return kwargs


def chat_model(route: ModelRoute, config: SafetyConfig, where: str = "model") -> BaseChatModel:
    """Build one route's chat model; a provider that cannot be built is a one-line ConfigError."""
    if route.provider == OFFLINE_PROVIDER:
        return OfflinePlanner()
    kwargs = _kwargs(route, config, where)
    try:
        from langchain.chat_models import init_chat_model

        return init_chat_model(route.name, model_provider=route.provider, **kwargs)
    except ImportError as exc:
        hint = _PIP_HINT.search(str(exc))
        need = f"pip install {hint.group(1)}" if hint else str(exc).strip().splitlines()[0][:200]
        raise ConfigError(
            f"{where}.provider {route.provider!r} needs its integration package: {need}"
        ) from None
    except Exception as exc:  # noqa: BLE001 - a provider SDK refusing its settings: one line, no traceback
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(
            f"{where}: cannot build {route.provider}:{route.name}: {first[:200]}"
        ) from None


def ladder_slots(config: SafetyConfig) -> tuple[tuple[ModelSlot, ...], ModelSlot | None]:
    """Build the fallback slots (in order) and the cheap slot from `[model]`."""
    fallbacks = tuple(
        ModelSlot(
            r.name,
            r.provider,
            chat_model(r, config, f"model.fallbacks[{i}]"),
            "fallback",
            r.read_only,
        )
        for i, r in enumerate(config.model.fallbacks)
    )
    cheap = config.model.cheap
    slot = (
        ModelSlot(
            cheap.name,
            cheap.provider,
            chat_model(cheap, config, "model.cheap"),
            "cheap",
            cheap.read_only,
        )
        if cheap
        else None
    )
    return fallbacks, slot
