"""The errors the facade and CLI raise. One base class; each carries structured fields."""

from __future__ import annotations


class SafeAgentError(Exception):
    """Base class: every error a caller of the facade should expect and can show in one line."""

    reason_code: str = "error"

    def __init__(self, message: str, **fields: object) -> None:
        """Keep the message and any structured facts (thread, limit, observed value)."""
        super().__init__(message)
        self.fields = fields


class ConfigError(SafeAgentError):
    """The operator's config file is missing, unreadable or invalid."""

    reason_code = "config_error"


class ThreadNotFound(SafeAgentError):
    """No thread with that id exists in the checkpoint database."""

    reason_code = "thread_not_found"


class InDoubt(SafeAgentError):
    """A call of the thread may have had its effect and was never recorded: reconcile it first."""

    reason_code = "in_doubt"


class NothingToResume(SafeAgentError):
    """The thread exists but is not paused at an approval."""

    reason_code = "nothing_to_resume"


class InvalidDecision(SafeAgentError):
    """The resume payload does not match the approval response schema; the thread stays paused."""

    reason_code = "invalid_decision"


class InvalidInput(SafeAgentError):
    """A caller argument (identity, role, message) is malformed."""

    reason_code = "invalid_input"


class Forbidden(SafeAgentError):
    """The caller may not use this thread or take this action."""

    reason_code = "forbidden"


class Unauthenticated(SafeAgentError):
    """No credential, or one that is unknown, revoked or rotated: the caller is nobody."""

    reason_code = "unauthenticated"


class IdentityMismatch(SafeAgentError):
    """The credential names one principal and `--as` another: refused rather than guessed."""

    reason_code = "identity_mismatch"
