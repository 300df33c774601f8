"""Who is calling: the runtime context every node reads identity from.

Identity never comes from messages, the model, or environment variables; the caller (facade,
CLI, Studio assistant config) supplies it per run. Fields without defaults must be given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True, kw_only=True)
class Context:
    """The caller's identity for one run (or for a resume: the approver's)."""

    user_id: str = field(metadata={"description": "The authenticated user on whose behalf the agent acts."})
    role: Literal["read", "write", "admin"] = field(
        metadata={"description": "The caller's role: read < write < admin. Decides which tools may run."}
    )
    tenant: str | None = field(default=None, metadata={"description": "Tenant or organisation, if any."})
    session_id: str | None = field(default=None, metadata={"description": "Client session, for the audit log."})
