"""Decide who may continue or read a thread: its owner, and admins. Approvers act through resume."""

from __future__ import annotations

from policies.verdict import Decision, ReasonCode, Role, Verdict, deny, fail_closed


@fail_closed("thread.access")
def may_use_thread(*, owner_id: str | None, caller_id: str, caller_role: Role) -> Verdict:
    """Allow the thread's owner (or anyone on a new thread) and admins; deny everyone else."""
    if owner_id is None or owner_id == caller_id or caller_role.at_least(Role.ADMIN):
        return Verdict(Decision.ALLOW, ReasonCode.OK, "", "thread.owner")
    return deny(ReasonCode.THREAD_FORBIDDEN, "this conversation belongs to another user", "thread.owner")
