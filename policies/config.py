"""The operator's configuration: every limit and rule, validated by pydantic.

This is data only. Loading it from a file is the application's job (`safe_agent.settings`);
policies receive the validated objects. Limits follow one naming rule: `<thing>_limit`, where
`None` switches that limit off.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, PositiveInt

from safe_agent.policies.audit_config import AuditConfig
from safe_agent.policies.model_config import ModelConfig, ModelRoute, RoutingConfig  # noqa: F401 - ModelRoute re-exported
from safe_agent.policies.pii_config import PiiConfig
from safe_agent.policies.pricing_config import BUILT_IN_PRICES, ModelPrice, PricingConfig  # noqa: F401
from safe_agent.policies.verdict import Role, Tier


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoleBudget(_Strict):
    """Budget overrides for callers of one role.

    A field left out inherits `[budget]`; an explicit null switches it off.
    """

    iterations_limit: int | None = Field(default=None, ge=1)
    """Model calls per run."""
    run_tokens_limit: int | None = Field(default=None, ge=1)
    """Prompt plus completion tokens per run."""
    run_cost_limit_usd: float | None = Field(default=None, gt=0)
    """USD per run."""
    user_daily_limit_usd: float | None = Field(default=None, gt=0)
    """USD per user of this role per UTC day."""
    run_deadline_s: float | None = Field(default=None, gt=0)
    """Seconds of working time per run."""
    tool_calls_limit: int | None = Field(default=None, ge=1)
    """Tool calls per run."""


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
    user_daily_limit_usd: float | None = Field(default=5.00, gt=0)
    """USD per user per UTC day, over all their runs in every process."""
    tenant_daily_limit_usd: float | None = Field(default=None, gt=0)
    """USD per tenant per UTC day, over all its users; off unless set."""
    global_monthly_limit_usd: float | None = Field(default=10_000.00, gt=0)
    """USD for the whole deployment per UTC calendar month."""
    soft_limit_ratio: float | None = Field(default=0.8, gt=0, le=1)
    """Share of any USD budget at which the run is warned and steered to a final answer; None: no
    warnings."""
    reservation_ttl_s: float = Field(default=600.0, gt=0)
    """Seconds a reservation holds budget; after that a crashed run's hold no longer counts."""
    run_deadline_s: float | None = Field(default=120.0, gt=0)
    """Seconds a run may work (waits for a human approval excluded); checked before each model
    call."""
    tool_calls_limit: int | None = Field(default=20, ge=1)
    """Tool calls per run, counting every call the model made, refused ones included."""
    per_tool_calls_limit: dict[str, PositiveInt] | None = None
    """Calls per run of the named tools, e.g. {send_email = 3}; unnamed tools only count towards
    tool_calls_limit."""
    repeated_call_limit: int | None = Field(default=3, ge=2)
    """Identical calls (same tool, same arguments) in one run that end it as a loop."""
    oscillation_limit: int | None = Field(default=2, ge=2)
    """A-B round trips in a row that end the run as a loop: 2 means A, B, A, B."""
    no_progress_limit: int | None = Field(default=3, ge=2)
    """Identical tool results in a row that end the run: the turns bring no new information."""
    roles: dict[Role, RoleBudget] = Field(default_factory=dict)
    """Per-role overrides, e.g. `[budget.roles.read] user_daily_limit_usd = 1`."""


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
    max_retry_after_s: float = Field(default=30.0, ge=0)
    """A provider's `Retry-After` is honoured up to this many seconds; a longer one is not
    retried."""


class InputConfig(_Strict):
    """Rules for user input."""

    max_chars: int = Field(default=8_000, ge=1)
    """Longest accepted message, in characters after normalisation."""
    detector: str | None = Field(default=None, min_length=3)
    """A second-layer injection classifier as `module:attribute` (an object with
    `score(text) -> float` in [0, 1], or a zero-argument factory of one); None: off. It judges user
    messages and each untrusted tool-output string the rules let through."""
    detector_threshold: float = Field(default=0.5, gt=0, le=1)
    """Detector score at or above which the text is refused (input) or withheld (tool output)."""
    pii: PiiConfig = PiiConfig()
    """`[input.pii]`: per kind of personal data or secret, tokenize, redact, block or allow."""


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
    provenance: ApprovalRule = ApprovalRule(id="provenance", approver_role=Role.WRITE)
    """The rule for a write that no tier rule holds but whose sink values come only from
    untrusted tool output (`docs/provenance.md`); its `tools`, `tiers` and `when` are ignored."""


class ToolPolicy(_Strict):
    """What a tool may do and what its output is worth: set in code or in `[tools.policies.NAME]`.

    The defaults are the fail-closed ones: a tool nobody described is irreversible, needs the
    write role, treats every argument as a sink and returns untrusted output.
    """

    tier: Tier = Tier.IRREVERSIBLE
    """Side-effect tier; decides approval under the operator's rules."""
    required_role: Role = Role.WRITE
    """Least role a caller needs."""
    timeout_s: float = Field(default=10.0, gt=0)
    """How long one call may take."""
    idempotent: bool = False
    """Running twice has the same effect as once (a crashed call may be re-run)."""
    accepts_idempotency_key: bool = False
    """The system behind the tool deduplicates on `ctx.idempotency_key`: a retry is safe."""
    sinks: tuple[str, ...] | None = None
    """Arguments that choose where an effect lands (recipient, account, URL, amount, path...).
    None: every argument is a sink. Provenance is checked for these on every non-read call."""
    trusted_output: bool = False
    """The output is the operator's own data: values in it may steer later calls."""
    trusted_fields: tuple[str, ...] = ()
    """Top-level result keys that are trusted even when the rest of the output is not (e.g. an
    order's customer e-mail, but not the notes a customer typed)."""
    untrusted_sinks: Literal["approve", "deny"] = "approve"
    """What happens to a write whose sink values come only from untrusted content."""


class ToolConfig(_Strict):
    """Which tools the agent has and the operator's say over them."""

    load: tuple[str, ...] = ("safe_agent.tools.support_desk:PACK",)
    """Tool sources as `module:attribute` (or `path/to/file.py:attribute`): a ToolPack, a ToolSpec,
    a LangChain tool, a plain function, or a list of them. The default is the demo support desk."""
    policies: dict[str, ToolPolicy] = Field(default_factory=dict)
    """Per-tool policies; each replaces the one declared in code for that tool name."""
    max_result_chars: int = Field(default=8_000, ge=200)
    """Longest tool result the model sees; a longer one is cut, and both the model and the audit
    are told."""
    cost_usd: dict[str, NonNegativeFloat] = Field(default_factory=dict)
    """USD charged each time the named tool runs, e.g. {send_email = 0.001}; unnamed tools cost
    nothing."""
    retry: RetryConfig = RetryConfig(
        max_retries=2, base_delay_s=0.2, max_jitter_s=0.1, max_retry_after_s=10.0
    )
    """Retries of transient failures of idempotent or idempotency-key tools; a table sets every
    key."""


class RoleRequestLimits(_Strict):
    """Runs a user may start per rate-limit window, by role; None means no limit for that role."""

    read: int | None = Field(default=100, ge=1)
    """Runs per window for a read user."""
    write: int | None = Field(default=300, ge=1)
    """Runs per window for a write user."""
    admin: int | None = Field(default=None, ge=1)
    """Runs per window for an admin."""


class RateLimitConfig(_Strict):
    """Per-user request rate, held in SQLite so every process shares one count."""

    requests_limit: RoleRequestLimits = RoleRequestLimits()
    """Runs per window by role: `[rate_limit.requests_limit] read = 100`."""
    window_s: float = Field(default=3600.0, gt=0)
    """Length of the sliding window in seconds (3600: the limits are per hour)."""


class IdentityConfig(_Strict):
    """How the CLI learns who is acting; every command that acts as someone needs a principal."""

    single_operator: bool = False
    """True lets `--as ID` (no key) act as that principal of the directory: only for a home used
    by one trusted person, where anyone who can run the CLI could read the data folder anyway.
    The role still comes from the directory, never from a flag."""


class SafetyConfig(_Strict):
    """Everything the operator can set."""

    budget: BudgetConfig = BudgetConfig()
    pricing: PricingConfig = PricingConfig()
    breaker: BreakerConfig = BreakerConfig()
    retry: RetryConfig = RetryConfig()
    model: ModelConfig = ModelConfig()
    routing: RoutingConfig = RoutingConfig()
    input: InputConfig = InputConfig()
    approval: ApprovalConfig = ApprovalConfig()
    tools: ToolConfig = ToolConfig()
    rate_limit: RateLimitConfig = RateLimitConfig()
    identity: IdentityConfig = IdentityConfig()
    audit: AuditConfig = AuditConfig()
    recursion_limit: int = Field(default=100, ge=10)
    """LangGraph super-step cap: a backstop under the iteration limit, never the main guard."""
    checkpoint_durability: Literal["exit", "async", "sync"] = "exit"
    """When the facade's checkpoints are written. "exit": when a run pauses or ends (fastest; a
    crash mid-run loses only that run's progress, while the audit log, spend ledger and execution
    ledger are written as each decision happens, so no side effect is lost or repeated).
    "sync"/"async": after every step, so a crashed run can be continued from its last step."""
