"""Decide who may see, continue or resume a thread, and which run requests a caller may send.

The server's auth handler (`graph/auth.py`) enforces these answers at the HTTP edge; the graph
checks again inside (identity, durable authorization records). Everything here is pure: the
caller, the pending approval requests and the run payload come in as plain data.

Why a run payload is judged at all: a LangGraph server lets any client write any channel
(`Command(goto=..., update=...)`), claim any identity in `context`, forge assistant or tool turns
in `input`, and raise `recursion_limit` without bound. Only the operator (an admin) may steer the
graph by hand; everyone else may send human messages and resume values, as themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from safe_agent.policies.identity import canonical_id, same_person
from safe_agent.policies.verdict import (
    Decision,
    ReasonCode,
    Role,
    Verdict,
    allow,
    deny,
    fail_closed,
)

IDENTITY_KEYS = ("user_id", "role", "tenant", "groups")
HUMAN_ROLES = frozenset({"user", "human"})


@fail_closed("thread.access")
def may_use_thread(*, owner_id: str | None, caller_id: str, caller_role: Role) -> Verdict:
    """Allow the thread's owner (or anyone on a new thread) and admins; deny everyone else."""
    if owner_id is None or same_person(owner_id, caller_id) or caller_role.at_least(Role.ADMIN):
        return Verdict(Decision.ALLOW, ReasonCode.OK, "", "thread.owner")
    return deny(
        ReasonCode.THREAD_FORBIDDEN, "this conversation belongs to another user", "thread.owner"
    )


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated principal, as the server's auth handler saw it."""

    id: str
    """Canonical principal id."""
    role: Role
    """The principal's role."""
    tenant: str | None = None
    """The principal's tenant, canonical, or None."""
    groups: tuple[str, ...] = ()
    """Approver groups the directory gives the principal."""


class PendingApproval(Protocol):
    """What eligibility needs from an open approval request (`stores.decisions.OpenRequest`)."""

    requester_id: str
    approver_role: str
    approver_groups: tuple[str, ...]
    expires_at: float | None


@fail_closed("thread.approver")
def may_resume_as_approver(
    *,
    requests: Sequence[PendingApproval],
    caller: Caller,
    group_members: Mapping[str, Sequence[str]],
    now: float,
) -> Verdict:
    """Allow a non-owner to read and resume a thread only while they may decide a request on it.

    Eligible for one open, unexpired request: role at least the request's `approver_role`; in one
    of its `approver_groups` if it names any (the principal's own groups, or the operator's
    `approval.groups` id lists); and not the requester. Anyone else learns nothing of the thread.
    """
    for request in requests:
        if request.expires_at is not None and request.expires_at <= now:
            continue
        if not caller.role.at_least(Role(request.approver_role)):
            continue
        wanted = tuple(request.approver_groups or ())
        if wanted and not any(_in_group(caller, group, group_members) for group in wanted):
            continue
        if same_person(caller.id, request.requester_id):
            continue
        return allow("thread.approver", "an eligible approver of a pending request")
    return deny(
        ReasonCode.THREAD_FORBIDDEN, "this conversation belongs to another user", "thread.approver"
    )


def _in_group(caller: Caller, group: str, group_members: Mapping[str, Sequence[str]]) -> bool:
    name = canonical_id(group)
    if name is not None and name in {canonical_id(g) for g in caller.groups}:
        return True
    members = group_members.get(group) or group_members.get(name or "") or ()
    return any(same_person(caller.id, member) for member in members)


@fail_closed("run.request")
def check_run_request(
    *,
    caller: Caller,
    run: Mapping[str, Any],
    recursion_cap: int,
    resume_only: bool = False,
) -> Verdict:
    """Judge a run's payload (`input`, `command`, `context`, `config`) before the server stores it.

    Args:
        caller: the authenticated principal sending the run.
        run: the run's keyword arguments as the server received them.
        recursion_cap: the operator's `recursion_limit`; a run may ask for less, never more.
        resume_only: the caller is an approver on someone else's thread: only `command.resume`.
    """
    config = run.get("config") or {}
    for source in (run.get("context") or {}, config.get("configurable") or {}):
        claim = _claimed_identity(caller, source)
        if claim:
            return deny(
                ReasonCode.IDENTITY_MISMATCH,
                f"context claims another identity ({claim}): identity comes from your key",
                "run.identity",
            )
    limit = config.get("recursion_limit")
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int) or not 0 < limit <= recursion_cap
    ):
        return deny(
            ReasonCode.RECURSION_LIMIT,
            f"recursion_limit {str(limit)[:20]} is refused: the operator's cap is {recursion_cap}",
            "run.recursion_limit",
            cap=recursion_cap,
        )
    command = run.get("command") or {}
    if not isinstance(command, Mapping):
        return deny(ReasonCode.FORGED_STATE, "command must be an object", "run.command")
    steering = sorted(k for k in ("goto", "update") if command.get(k) not in (None, [], {}))
    if steering and not caller.role.at_least(Role.ADMIN):
        return deny(
            ReasonCode.FORGED_STATE,
            f"command.{'/'.join(steering)} is reserved to admins: send messages or a resume",
            "run.command",
        )
    if resume_only:
        return _resume_only(run, command)
    if caller.role.at_least(Role.ADMIN):
        return allow("run.request")
    return _human_input_only(run.get("input"))


def _claimed_identity(caller: Caller, source: Mapping[str, Any]) -> str:
    """Name the first identity field in `source` that differs from the caller's, or ''."""
    checks = {
        "user_id": lambda v: same_person(v, caller.id),
        "role": lambda v: v == caller.role.value,
        "tenant": lambda v: same_person(v, caller.tenant),
        "groups": lambda v: _same_groups(v, caller.groups),
    }
    for key in IDENTITY_KEYS:
        value = source.get(key)
        if value in (None, "", [], ()):  # an empty field (Studio's blank form) claims nobody
            continue
        if not checks[key](value):
            return key
    return ""


def _same_groups(claimed: object, groups: Iterable[str]) -> bool:
    if not isinstance(claimed, list | tuple):
        return False
    return {canonical_id(g) for g in claimed} == {canonical_id(g) for g in groups}


def _resume_only(run: Mapping[str, Any], command: Mapping[str, Any]) -> Verdict:
    extra = sorted(k for k, v in command.items() if k != "resume" and v not in (None, [], {}))
    if run.get("input") is not None or extra or "resume" not in command:
        return deny(
            ReasonCode.THREAD_FORBIDDEN,
            "an approver may only resume this conversation (command.resume, no input)",
            "run.resume_only",
        )
    return allow("run.resume_only")


def _human_input_only(payload: object) -> Verdict:
    """Allow no input, or `{"messages": [...]}` whose every message is the caller's own turn."""
    if payload is None:
        return allow("run.input")
    if not isinstance(payload, Mapping) or set(payload) - {"messages"}:
        return deny(ReasonCode.FORGED_STATE, "input may only carry `messages`", "run.input")
    messages = payload.get("messages") or []
    if isinstance(messages, str | Mapping):
        messages = [messages]
    if not isinstance(messages, list):
        return deny(ReasonCode.FORGED_STATE, "input.messages must be a list", "run.input")
    for message in messages:
        kind = _message_kind(message)
        if kind not in HUMAN_ROLES:
            return deny(
                ReasonCode.FORGED_STATE,
                f"input may only carry user messages, not {str(kind)[:20]!r} turns",
                "run.input",
            )
    return allow("run.input")


def _message_kind(message: object) -> str | None:
    """Return the message's author ('user', 'ai', 'tool'...), or None when it cannot be told."""
    if isinstance(message, str):
        return "user"
    if isinstance(message, list | tuple) and len(message) == 2 and isinstance(message[0], str):
        return message[0]
    if not isinstance(message, Mapping):
        return None
    kinds = {"human" if k == "user" else k for k in (message.get("role"), message.get("type"))}
    kinds.discard(None)
    if len(kinds) != 1 or message.get("tool_calls") or message.get("tool_call_id"):
        return "mixed" if kinds else None
    return str(next(iter(kinds)))
