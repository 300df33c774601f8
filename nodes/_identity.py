"""Who is calling this run: the authenticated principal on a server, the trusted context in Python.

On a LangGraph server the auth handler (`graph/auth.py`) checked a credential and the server put
the principal in `config["configurable"]["langgraph_auth_user"]`. That is the only identity a
server run has: the client's `context` may repeat it (agent-chat-ui sends none at all), but a
context that claims another user, role, tenant or groups is refused, never merged.

A Python process that compiles the graph itself is trusted code: its runtime context is the
identity, after the same canonicalisation and validation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from safe_agent.graph.context import Context
from safe_agent.graph.services import Services
from safe_agent.nodes._common import thread_id_of
from safe_agent.policies.approval import action_digest
from safe_agent.policies.identity import ROLES, canonical_id, check_id
from safe_agent.policies.verdict import Decision, ReasonCode, Verdict, deny
from safe_agent.stores.decisions import DecisionRecord
from safe_agent.stores.runs import RunPrincipal

_SERVER_KEYS = ("langgraph_auth_user", "langgraph_auth_user_id")


@dataclass(frozen=True, slots=True)
class Caller:
    """The identity a run (or a resume) acts as, already canonical."""

    user_id: str
    role: str
    tenant: str | None
    session_id: str | None
    groups: tuple[str, ...]


def _field(user: Any, name: str) -> Any:
    """Read a field of the server's user object (ProxyUser, dict, or a plain object)."""
    try:
        return user[name]
    except (KeyError, TypeError, IndexError):
        return getattr(user, name, None)


def _from_server(user: Any) -> tuple[Verdict, Caller | None]:
    """Turn the authenticated server user into a caller; anything without a role is nobody."""
    if user is None or not bool(_field(user, "is_authenticated")):
        return deny(
            ReasonCode.UNAUTHENTICATED,
            "this run carries no authenticated principal",
            "identity.server",
        ), None
    verdict, user_id = check_id(_field(user, "identity"))
    role = _field(user, "role")
    if not verdict.allowed or role not in ROLES:  # e.g. a StudioUser: no principal behind it
        return deny(
            ReasonCode.UNAUTHENTICATED,
            "the server's user is not a Safe Agent principal",
            "identity.server",
        ), None
    groups = tuple(sorted(g for g in (canonical_id(x) for x in _field(user, "groups") or ()) if g))
    tenant = _field(user, "tenant")
    return Verdict(Decision.ALLOW, ReasonCode.OK, "", "identity.server"), Caller(
        user_id=user_id,
        role=str(role),
        tenant=str(tenant) if tenant else None,
        session_id=None,
        groups=groups,
    )


def _claims_another(ctx: Context, caller: Caller) -> str:
    """Name the first context field that contradicts the authenticated principal, or ""."""
    if ctx.user_id and canonical_id(ctx.user_id) != caller.user_id:
        return "user_id"
    if ctx.role and ctx.role != caller.role:
        return "role"
    if ctx.tenant and ctx.tenant != caller.tenant:
        return "tenant"
    if ctx.groups and tuple(sorted(filter(None, map(canonical_id, ctx.groups)))) != caller.groups:
        return "groups"
    return ""


def caller_of(
    runtime: Runtime[Context],
    config: RunnableConfig | None,
    services: Services,
) -> tuple[Verdict, Caller | None]:
    """Return who this run acts as, or a deny (unauthenticated, invalid or mismatched identity)."""
    configurable = (config or {}).get("configurable") or {}
    ctx = runtime.context if isinstance(runtime.context, Context) else Context()
    if services.server_auth or any(k in configurable for k in _SERVER_KEYS):
        verdict, caller = _from_server(configurable.get("langgraph_auth_user"))
        if caller is None:
            return verdict, None
        claimed = _claims_another(ctx, caller)
        if claimed:
            return deny(
                ReasonCode.IDENTITY_MISMATCH,
                f"the run's context claims another {claimed} than its credential",
                "identity.server",
                field=claimed,
            ), None
        return verdict, Caller(
            caller.user_id, caller.role, caller.tenant, ctx.session_id, caller.groups
        )
    verdict, user_id = check_id(ctx.user_id)
    if not verdict.allowed:
        return verdict, None
    if ctx.role not in ROLES:
        return deny(
            ReasonCode.INVALID_IDENTITY,
            f"role must be one of {', '.join(ROLES)}",
            "identity.context",
        ), None
    groups = tuple(sorted(g for g in (canonical_id(x) for x in ctx.groups) if g))
    return Verdict(Decision.ALLOW, ReasonCode.OK, "", "identity.context"), Caller(
        user_id=user_id,
        role=ctx.role,
        tenant=ctx.tenant,
        session_id=ctx.session_id,
        groups=groups,
    )


def requester_of(
    state: Any, config: RunnableConfig | None, services: Services
) -> RunPrincipal | None:
    """Return the requester validate_input recorded for this run; None means the run id was forged.

    `state["principal"]` is for display only: anyone who can write state can write it.
    """
    thread = decision_thread(state, config)
    return services.runs.run_principal(thread_id=thread, run_id=str(state.get("run_id") or ""))


def decision_thread(state: Any, config: RunnableConfig | None) -> str:
    """The thread key of decision records: the thread id, or the run id of a run without one."""
    return thread_id_of(config) or str(state.get("run_id") or "")


def recorded_decision(
    state: Any, config: RunnableConfig | None, services: Services
) -> DecisionRecord | None:
    """The decision ledger's row for exactly the head call in state, or None.

    The digest is recomputed from the tool name and arguments in state and must equal the digest
    state claims, so state edited to carry other arguments, another call or a made-up
    authorization finds no row. Used by `approval` (is this request real?) and `execute_tool`
    (may this call run?).
    """
    call, auth = state["pending_calls"][0], state.get("authorization")
    data = auth.get("data") if isinstance(auth, dict) else None
    if not isinstance(data, dict):
        return None
    digest = action_digest(
        tool_name=str(call["name"]),
        args=data.get("args"),
        thread_id=thread_id_of(config),
        tool_call_id=call["id"],
        policy_version=services.config.approval.version,
    )
    if digest != data.get("digest"):
        return None
    record = services.decisions.get(
        thread_id=decision_thread(state, config), tool_call_id=str(call["id"]), digest=digest
    )
    return record if record is not None and record.tool_name == call["name"] else None
