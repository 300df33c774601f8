"""The operator's `[model]` and `[routing]` sections: which models the `reason` node may call.

Data only (`policies.config` embeds it). The degradation ladder is read from here: the primary
model, then each `[[model.fallbacks]]` entry in order, then an honest failure. A model entry
marked `read_only` is served with the write tools withdrawn, so an operator can keep a weaker or
local model for answering questions without ever letting it act (`docs/resilience.md`).
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

AUTO_PROVIDER = "auto"
"""The primary's default provider: OpenAI when OPENAI_API_KEY is set, else the offline planner."""
OFFLINE_PROVIDER = "offline"
ONE_SYSTEM_PROMPT_PROVIDERS = frozenset({"anthropic"})
"""Providers whose API takes one system prompt, before the conversation (Anthropic's top-level
`system`): the ladder folds a later system note (read-only mode, finish) into it."""

_PROVIDER = re.compile(r"^[a-z][a-z0-9_-]{0,40}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,100}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelRoute(_Strict):
    """One chat model the ladder can call: an `init_chat_model` provider, and a name.

    Each route has its own circuit breaker (`model:<provider>:<name>`) and is priced by name in
    `[pricing]` (an unpriced name is billed at the deliberately expensive unknown-model price).
    """

    provider: str = "openai"
    """An `init_chat_model` provider ("openai", "anthropic", "google_genai", "ollama", …), or
    "offline" for the built-in planner. Its integration package must be installed."""
    name: str = Field(min_length=1, max_length=200)
    """The model name sent to the provider, and its key in the price table."""
    base_url: str | None = Field(default=None, min_length=1)
    """The endpoint (an OpenAI-compatible gateway, a local server); None: the provider's default."""
    api_key_env: str | None = None
    """The environment variable holding this route's API key; None: the provider's usual one."""
    read_only: bool = False
    """When this model serves a turn, tools that change anything are withdrawn and it is told so."""

    @field_validator("provider")
    @classmethod
    def _known_shape(cls, value: str) -> str:
        if not _PROVIDER.match(value):
            raise ValueError("provider must be a lowercase init_chat_model provider name")
        return value

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.match(value):
            raise ValueError("api_key_env must be an environment variable name")
        return value


class ModelConfig(_Strict):
    """Which chat models the `reason` node calls, and how long it waits for each attempt."""

    provider: str = AUTO_PROVIDER
    """The primary's provider: "auto" (OpenAI if OPENAI_API_KEY is set, else offline), "offline",
    or any `init_chat_model` provider."""
    name: str = "gpt-4o-mini"
    """Model name used with a real provider."""
    base_url: str | None = Field(default=None, min_length=1)
    """The primary's endpoint; None: OPENAI_BASE_URL for OpenAI, else the provider's default."""
    api_key_env: str | None = None
    """The primary's API key variable; None: the provider's usual one (OPENAI_API_KEY, …)."""
    timeout_s: float = Field(default=30.0, gt=0)
    """Read timeout of each attempt: the longest wait for the provider's answer."""
    connect_timeout_s: float = Field(default=5.0, gt=0)
    """Connect timeout of each attempt: a provider that does not accept the connection this fast
    is failed over at once instead of holding the run for the whole read timeout."""
    temperature: float = Field(default=0.0, ge=0, le=2)
    """Sampling temperature for real providers."""
    system_prompt: str | None = Field(default=None, min_length=1, max_length=20_000)
    """The system prompt; None takes the loaded tool pack's, else a generic one."""
    read_only: bool = False
    """Serve the primary with the write tools withdrawn (a deployment that only answers)."""
    fallbacks: tuple[ModelRoute, ...] = Field(default=(), max_length=8)
    """Tried in order when the primary is unavailable (breaker open, switched off, or failed after
    its retries). Each is priced in `[pricing]` and has its own breaker."""
    cheap: ModelRoute | None = None
    """The cheaper model `[routing]` sends turns to (soft limit passed, or a simple request)."""

    @field_validator("provider")
    @classmethod
    def _known_shape(cls, value: str) -> str:
        if value != AUTO_PROVIDER and not _PROVIDER.match(value):
            raise ValueError("provider must be 'auto' or a lowercase init_chat_model provider name")
        return value

    _env_name = field_validator("api_key_env")(ModelRoute._env_name.__func__)  # type: ignore[attr-defined]


class RoutingConfig(_Strict):
    """Cost-aware routing: which model serves a turn, and whether a read-only answer is reused."""

    cheap_on_soft_limit: bool = True
    """Once the run or the user passes a soft limit of a budget, serve with `[model] cheap`."""
    simple_max_chars: int | None = Field(default=None, ge=1, le=10_000)
    """A request this short, with no word from `write_words`, is "simple": served by the cheap
    model. None: no request is simple."""
    write_words: tuple[str, ...] = (
        "refund",
        "delete",
        "send",
        "email",
        "change",
        "update",
        "cancel",
        "pay",
        "share",
        "remove",
    )
    """Words that make a request not simple, however short (it may need a write tool)."""
    cache_ttl_s: float | None = Field(default=None, gt=0, le=86_400)
    """Serve an identical read-only turn from a cache for this long (keyed by principal, tool set,
    policy version, model and the whole prompt). None: off (the default)."""
