"""The operator's configuration: every limit and rule, validated by pydantic.

This is data only. Loading it from a file is the application's job (`safe_agent.settings`);
policies receive the validated objects. Limits follow one naming rule: `<thing>_limit`, where
`None` switches that limit off.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from policies.verdict import Role, Tier


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelPrice(_Strict):
    """USD per million tokens for one model."""

    input_per_mtok: float = Field(ge=0)
    """Price of one million prompt tokens."""
    output_per_mtok: float = Field(ge=0)
    """Price of one million completion tokens."""
    cached_input_per_mtok: float | None = Field(default=None, ge=0)
    """Price of one million cached prompt tokens; None bills them as ordinary input."""


class PricingConfig(_Strict):
    """The per-model price table, versioned so the audit log can say which prices applied."""

    version: str = "2026-11"
    """Identifier of this price table."""
    models: dict[str, ModelPrice] = Field(
        default_factory=lambda: {
            "offline-planner": ModelPrice(input_per_mtok=0.15, output_per_mtok=0.60),
            "gpt-4o-mini": ModelPrice(input_per_mtok=0.15, output_per_mtok=0.60, cached_input_per_mtok=0.075),
            "gpt-4o": ModelPrice(input_per_mtok=2.50, output_per_mtok=10.00, cached_input_per_mtok=1.25),
            "gpt-4.1": ModelPrice(input_per_mtok=2.00, output_per_mtok=8.00, cached_input_per_mtok=0.50),
            "gpt-4.1-mini": ModelPrice(input_per_mtok=0.40, output_per_mtok=1.60, cached_input_per_mtok=0.10),
        }
    )
    """Known models and their prices."""
    unknown_model: ModelPrice = ModelPrice(input_per_mtok=15.0, output_per_mtok=75.0)
    """Price used for any model not in the table: deliberately expensive, never free."""


class BudgetConfig(_Strict):
    """Runaway and spend limits for one run."""

    iterations_limit: int | None = Field(default=5, ge=1)
    """Model calls per run."""
    run_tokens_limit: int | None = Field(default=50_000, ge=1)
    """Prompt plus completion tokens per run."""
    run_cost_limit_usd: float | None = Field(default=1.00, gt=0)
    """USD per run; the next call is refused if its worst case would cross it."""
    max_output_tokens: int = Field(default=1024, ge=1)
    """Completion tokens assumed for the worst case of the next call."""


class BreakerConfig(_Strict):
    """Circuit breaker settings, shared by model providers and tools."""

    failure_threshold: int = Field(default=5, ge=1)
    """Consecutive failures that open the breaker."""
    cooldown_s: float = Field(default=60.0, ge=0)
    """Seconds the breaker stays open before one probe is let through."""


class RetryConfig(_Strict):
    """Retry of transient model errors: exponential backoff with jitter, never on 4xx."""

    max_retries: int = Field(default=3, ge=0)
    """Retries after the first attempt."""
    base_delay_s: float = Field(default=1.0, ge=0)
    """First backoff; then doubled each retry (1 s, 2 s, 4 s)."""
    max_jitter_s: float = Field(default=0.5, ge=0)
    """Uniform random jitter added to each backoff."""


class ModelConfig(_Strict):
    """Which chat model the `reason` node calls."""

    name: str = "gpt-4o-mini"
    """Model name used with a real provider (OPENAI_API_KEY set)."""
    timeout_s: float = Field(default=30.0, gt=0)
    """Per-call timeout."""
    temperature: float = Field(default=0.0, ge=0, le=2)
    """Sampling temperature for real providers."""


class InputConfig(_Strict):
    """Rules for user input."""

    max_chars: int = Field(default=8_000, ge=1)
    """Longest accepted message, in characters after normalisation."""


class ApprovalConfig(_Strict):
    """Who must approve what (extended by the approval-policy work)."""

    tiers_requiring_approval: tuple[Tier, ...] = (Tier.IRREVERSIBLE, Tier.DESTRUCTIVE)
    """Side-effect tiers that pause for a human."""
    approver_role: dict[Tier, Role] = Field(
        default_factory=lambda: {Tier.IRREVERSIBLE: Role.WRITE, Tier.DESTRUCTIVE: Role.ADMIN}
    )
    """Least role that may approve a call of each tier."""
    separate_requester: bool = True
    """The requester may not approve their own request."""


class ToolConfig(_Strict):
    """Per-tool overrides."""

    default_timeout_s: float = Field(default=5.0, gt=0)
    """Timeout for a tool that declares none."""


class SafetyConfig(_Strict):
    """Everything the operator can set."""

    budget: BudgetConfig = BudgetConfig()
    pricing: PricingConfig = PricingConfig()
    breaker: BreakerConfig = BreakerConfig()
    retry: RetryConfig = RetryConfig()
    model: ModelConfig = ModelConfig()
    input: InputConfig = InputConfig()
    approval: ApprovalConfig = ApprovalConfig()
    tools: ToolConfig = ToolConfig()
    recursion_limit: int = Field(default=100, ge=10)
    """LangGraph super-step cap: a backstop under the iteration limit, never the main guard."""
