"""The operator's configuration: every limit and rule, validated by pydantic.

This is data only. Loading it from a file is the application's job (`safe_agent.settings`);
policies receive the validated objects. Limits follow one naming rule: `<thing>_limit`, where
`None` switches that limit off.
"""

from __future__ import annotations

from typing import Literal

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


class ArgCondition(_Strict):
    """A condition on one validated argument of the call, e.g. amount_usd > 100."""

    arg: str
    """Argument name."""
    op: Literal["gt", "ge", "lt", "le", "eq", "ne", "in", "not_in", "domain_in", "domain_not_in"]
    """Comparison; the domain operators compare the part of an e-mail address after '@'."""
    value: float | str | tuple[str, ...]
    """What the argument is compared with."""


class ApprovalRule(_Strict):
    """Which calls need approval, who may give it, how many approvals and for how long."""

    id: str
    """Stable name, recorded with every decision."""
    tools: tuple[str, ...] = ()
    """Tools this rule covers; empty means any tool."""
    tiers: tuple[Tier, ...] = ()
    """Side-effect tiers this rule covers; empty means any tier."""
    when: tuple[ArgCondition, ...] = ()
    """Argument conditions that must all hold for the rule to apply."""
    require: bool = True
    """False makes a matching call exempt (e.g. e-mail to the company's own domain)."""
    approver_role: Role = Role.WRITE
    """Least role an approver needs."""
    approver_groups: tuple[str, ...] = ()
    """If set, the approver must also belong to one of these named groups."""
    quorum: int = Field(default=1, ge=1, le=10)
    """Distinct approvers needed."""
    ttl_s: float = Field(default=86_400.0, gt=0)
    """Seconds a request stays valid; a later decision counts as a rejection (expired)."""
    separate_requester: bool = True
    """The requester may not approve their own call."""


class ApprovalConfig(_Strict):
    """The approval policy: ordered rules (first match wins) and named approver groups."""

    version: str = "1"
    """Policy version; part of every action digest, so a policy change voids pending approvals."""
    groups: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    """Named groups of approver user ids, e.g. finance = ["approver-7", "approver-8"]."""
    rules: tuple[ApprovalRule, ...] = (
        ApprovalRule(id="destructive", tiers=(Tier.DESTRUCTIVE,), approver_role=Role.ADMIN),
        ApprovalRule(id="irreversible", tiers=(Tier.IRREVERSIBLE,), approver_role=Role.WRITE),
    )
    """Rules in order of precedence."""
    unmatched_tiers: tuple[Tier, ...] = (Tier.IRREVERSIBLE, Tier.DESTRUCTIVE)
    """Tiers that still need an admin's approval when no rule matches (fail closed)."""


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
