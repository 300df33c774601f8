"""The one shape every policy answers in: a decision, a closed reason code, and a safe detail.

Policies never raise to signal "no": they return a `Verdict`. Exceptions inside a policy are
bugs, and the `fail_closed` helper turns them into a deny with `ReasonCode.POLICY_ERROR`, so a
broken rule can never silently allow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import Enum, StrEnum
from typing import Any, ParamSpec

P = ParamSpec("P")


class Decision(StrEnum):
    """What the application must do."""

    ALLOW = "allow"
    DENY = "deny"
    ASK_APPROVAL = "ask_approval"


class ReasonCode(StrEnum):
    """Every reason a policy may give. Closed: a new reason is a code change, not a string."""

    OK = "ok"
    POLICY_ERROR = "policy_error"
    # input
    EMPTY_INPUT = "empty_input"
    INPUT_TOO_LONG = "input_too_long"
    CONTROL_CHARACTERS = "control_characters"
    PROMPT_INJECTION = "prompt_injection"
    INPUT_PII_BLOCKED = "input_pii_blocked"
    # budget and runaway
    MAX_ITERATIONS = "max_iterations"
    TOKEN_LIMIT = "token_limit"
    RUN_COST_LIMIT = "run_cost_limit"
    USER_DAILY_LIMIT = "user_daily_limit"
    TENANT_DAILY_LIMIT = "tenant_daily_limit"
    GLOBAL_MONTHLY_LIMIT = "global_monthly_limit"
    SOFT_LIMIT = "soft_limit"
    DEADLINE = "deadline"
    TOOL_CALL_LIMIT = "tool_call_limit"
    REPEATED_TOOL_CALL = "repeated_tool_call"
    OSCILLATION = "oscillation"
    NO_PROGRESS = "no_progress"
    RATE_LIMITED = "rate_limited"
    # breaker and model
    BREAKER_OPEN = "breaker_open"
    KILL_SWITCH = "kill_switch"
    BREAKER_HALF_OPEN_PROBE = "breaker_half_open_probe"
    MODEL_UNAVAILABLE = "model_unavailable"
    MODEL_REJECTED_REQUEST = "model_rejected_request"
    # authorization
    UNKNOWN_TOOL = "unknown_tool"
    INVALID_ARGUMENTS = "invalid_arguments"
    INSUFFICIENT_ROLE = "insufficient_role"
    APPROVAL_REQUIRED = "approval_required"
    # approval
    APPROVED = "approved"
    EDITED = "edited"
    REJECTED = "rejected"
    RESPONDED = "responded"
    APPROVER_IS_REQUESTER = "approver_is_requester"
    APPROVER_LACKS_ROLE = "approver_lacks_role"
    APPROVER_NOT_IN_GROUP = "approver_not_in_group"
    DUPLICATE_APPROVER = "duplicate_approver"
    QUORUM_PENDING = "quorum_pending"
    APPROVAL_EXPIRED = "approval_expired"
    DIGEST_MISMATCH = "digest_mismatch"
    EDIT_ESCALATES = "edit_escalates"
    DECISION_COUNT = "decision_count"
    INVALID_DECISION = "invalid_decision"
    THREAD_FORBIDDEN = "thread_forbidden"
    IN_DOUBT = "in_doubt"
    RECONCILED = "reconciled"
    REPLAYED = "replayed"
    # tools
    TOOL_TIMEOUT = "tool_timeout"
    TOOL_ERROR = "tool_error"
    TOOL_UNAVAILABLE = "tool_unavailable"
    TOOL_OUTPUT_INJECTION = "tool_output_injection"
    UNTRUSTED_SINK = "untrusted_sink"
    UNKNOWN_PII_TOKEN = "unknown_pii_token"
    # output
    OUTPUT_REDACTED = "output_redacted"
    # identity and forged state
    UNAUTHENTICATED = "unauthenticated"
    INVALID_IDENTITY = "invalid_identity"
    IDENTITY_MISMATCH = "identity_mismatch"
    PRINCIPAL_REVOKED = "principal_revoked"
    NOT_AUTHORIZED_RECORD = "not_authorized_record"
    FORGED_STATE = "forged_state"
    RECURSION_LIMIT = "recursion_limit"
    MESSAGE_WITHHELD = "message_withheld"


@dataclass(frozen=True, slots=True)
class Verdict:
    """A policy's answer.

    Attributes:
        decision: allow, deny or ask_approval.
        reason_code: why, from the closed `ReasonCode` set.
        detail: a sentence that is safe to show the model and the user.
        policy_id: which rule decided, for the audit log.
        data: small structured facts behind the decision (limit, observed value, ...).
    """

    decision: Decision
    reason_code: ReasonCode
    detail: str = ""
    policy_id: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        """Say whether the application may go ahead without asking anyone."""
        return self.decision is Decision.ALLOW

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict, the form verdicts take in graph state and the audit log."""
        out = asdict(self)
        out["decision"] = self.decision.value
        out["reason_code"] = self.reason_code.value
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Verdict:
        """Rebuild a verdict stored in state."""
        return cls(
            decision=Decision(raw["decision"]),
            reason_code=ReasonCode(raw["reason_code"]),
            detail=raw.get("detail", ""),
            policy_id=raw.get("policy_id", ""),
            data=dict(raw.get("data") or {}),
        )


def allow(policy_id: str, detail: str = "", **data: Any) -> Verdict:
    """Build an allow verdict."""
    return Verdict(Decision.ALLOW, ReasonCode.OK, detail, policy_id, data)


def deny(reason: ReasonCode, detail: str, policy_id: str, **data: Any) -> Verdict:
    """Build a deny verdict."""
    return Verdict(Decision.DENY, reason, detail, policy_id, data)


def fail_closed(policy_id: str) -> Callable[[Callable[P, Verdict]], Callable[P, Verdict]]:
    """Wrap a policy so that any exception inside it becomes a deny, never an allow."""

    def wrap(fn: Callable[P, Verdict]) -> Callable[P, Verdict]:
        def guarded(*args: P.args, **kwargs: P.kwargs) -> Verdict:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - a policy bug must deny, not crash
                return deny(
                    ReasonCode.POLICY_ERROR,
                    f"policy {policy_id} failed: {type(exc).__name__}",
                    policy_id,
                )

        guarded.__name__ = fn.__name__
        guarded.__doc__ = fn.__doc__
        guarded.__wrapped__ = fn  # type: ignore[attr-defined]
        return guarded

    return wrap


class Role(str, Enum):
    """Caller roles, ordered: read < write < admin."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """Return the role's place in the order read < write < admin."""
        return _ROLE_RANK[self]

    def at_least(self, other: Role) -> bool:
        """Say whether this role includes everything `other` may do."""
        return self.rank >= other.rank


_ROLE_RANK = {Role.READ: 0, Role.WRITE: 1, Role.ADMIN: 2}


class Tier(StrEnum):
    """Side-effect tiers of a tool, from harmless to destructive."""

    READ_ONLY = "read_only"
    REVERSIBLE = "reversible"
    IRREVERSIBLE = "irreversible"
    DESTRUCTIVE = "destructive"
