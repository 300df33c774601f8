"""Who is calling: the runtime context a trusted Python caller passes for one run.

Identity never comes from messages, the model, or environment variables. On a LangGraph server
it comes from the authenticated principal (`config["configurable"]["langgraph_auth_user"]`, set
by `graph/auth.py`), and a context that claims anyone else is refused, not merged
(`nodes/_identity.py`). A Python process that compiles the graph itself is trusted code: its
context is the identity. No field has a usable default: an empty context identifies nobody.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Context:
    """The caller's identity for one run (or for a resume: the approver's)."""

    user_id: str = field(
        default="",
        metadata={"description": "On a server, leave empty: identity comes from your API key."},
    )
    role: str = field(
        default="",
        metadata={"description": "read < write < admin. On a server, taken from your principal."},
    )
    tenant: str | None = field(
        default=None, metadata={"description": "Tenant or organisation, if any."}
    )
    session_id: str | None = field(
        default=None, metadata={"description": "Client session, for the audit log."}
    )
    groups: tuple[str, ...] = field(
        default=(),
        metadata={
            "description": "Approver groups the caller belongs to (from the principal directory)."
        },
    )
    resources: dict[str, Any] = field(
        default_factory=dict,
        metadata={
            "description": (
                "Python callers only: per-run resources for the tools (ignored on a server)."
            )
        },
    )
