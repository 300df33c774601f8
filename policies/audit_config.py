"""The `[audit]` section: where the audit log's MAC key lives, how long personal fields are kept.

Data only (`policies.config` embeds it); `safe_agent.settings` reads the key, `docs/audit.md`
says why.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AuditConfig(BaseModel):
    """The audit log's key and retention."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key_file: str | None = Field(default=None, min_length=1)
    """File whose first line is the MAC key (at least 32 characters); it must exist. None: the key
    is $SAFE_AGENT_AUDIT_KEY, else `<home>/audit.key`, made on first use (mode 0600). Keep the key
    outside the data folder: whoever can read it can forge audit rows."""
    retention_days: int | None = Field(default=None, ge=1)
    """Age in days past which `safe-agent audit retain` anonymises rows when no --older-than is
    given; None: retain needs --older-than. Nothing is anonymised unless retain is run."""
