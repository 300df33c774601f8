"""Kill switches on the tool side: what a call is matched on, and stopping it wherever it stands.

A switch must stop a call at every stage, not only when `authorize` first judges it: a request
waiting for people (`approval`) and a call already allowed or approved (`execute_tool`) are
stopped too, and the decision ledger row is closed as `voided`, so switching the target back on
revives nothing. Every stage matches the same targets (`policies.kill_switch.tool_targets`),
built from the facts `authorize` recorded in the ledger (tenant, tier, proposing model): state
is never asked what a call is, once it is on record.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from safe_agent.graph.context import Context
from safe_agent.graph.services import Services
from safe_agent.graph.state import AUDIT_FLUSHED, State
from safe_agent.nodes._common import halt_update, make_event, thread_id_of
from safe_agent.nodes._identity import decision_thread, recorded_decision, requester_of
from safe_agent.policies.kill_switch import check_kill_switches, tool_targets
from safe_agent.policies.verdict import ReasonCode, Verdict, deny
from safe_agent.stores.decisions import DecisionRecord
from safe_agent.tools.spec import idempotency_key_for


def proposer(state: State, call_id: str) -> str | None:
    """The model that proposed this call, as the reason node marked its reply (None if unmarked)."""
    for message in reversed(state.get("messages") or []):
        if isinstance(message, AIMessage) and any(
            c.get("id") == call_id for c in message.tool_calls
        ):
            name = (message.response_metadata or {}).get("safe_agent_model")
            return str(name) if name else None
    return None


def provider_of(services: Services, model: str | None) -> str | None:
    """The provider of a model on the ladder (for `model:<provider>:<name>` switches), if known."""
    slots = [
        getattr(services, "primary", None),
        *(getattr(services, "fallbacks", None) or ()),
        getattr(services, "cheap", None),
    ]
    return next(
        (str(s.provider) for s in slots if s is not None and getattr(s, "name", None) == model),
        None,
    )


def call_facts(
    state: State, config: RunnableConfig, services: Services, call: dict[str, Any]
) -> dict[str, str | None]:
    """What the decision ledger keeps of a call so a later switch can be matched against it."""
    requester = requester_of(state, config, services)
    spec = services.tools.get(str(call["name"]))
    model = proposer(state, str(call["id"]))
    return {
        "tenant": requester.tenant if requester else None,
        "tier": spec.tier.value if spec else None,
        "model": model,
        "model_provider": provider_of(services, model),
    }


def call_targets(
    state: State, services: Services, call: dict[str, Any], *, tenant: str | None, user_id: str
) -> list[str]:
    """The switches that stop a proposed call (at `authorize`)."""
    spec = services.tools.get(str(call["name"]))
    model = proposer(state, str(call["id"]))
    return tool_targets(
        tool_name=str(call["name"]),
        tenant=tenant,
        user_id=user_id,
        tier=spec.tier.value if spec else None,
        model=model,
        model_provider=provider_of(services, model),
    )


def record_targets(record: DecisionRecord) -> list[str]:
    """The switches that stop a call on record (pending, allowed or approved)."""
    return tool_targets(
        tool_name=record.tool_name,
        tenant=record.tenant,
        user_id=record.requester_id,
        tier=record.tier,
        model=record.model,
        model_provider=record.model_provider,
    )


def _stopped(record: DecisionRecord, services: Services) -> Verdict | None:
    """A voided row's verdict, or void it now if a switch covers it; None if nothing stops it."""
    if record.status == "voided":
        return deny(
            ReasonCode.KILL_SWITCH, record.reason or "voided by a kill switch", "kill_switch.voided"
        )
    verdict = check_kill_switches(targets=record_targets(record), active=services.switches.active())
    if verdict.allowed:
        return None
    if not services.decisions.void(
        record,
        reason=verdict.detail,
        now=services.clock(),
        decided_by=str(verdict.data.get("set_by") or "kill_switch"),
    ):
        return None  # answered or closed meanwhile: the caller's own ledger check decides
    return verdict


def stop_call(
    state: State, runtime: Runtime[Context], config: RunnableConfig, services: Services
) -> dict[str, Any] | None:
    """For `execute_tool`: stop an allowed or approved call that a switch now covers; else None.

    A call whose execution is finished is left alone (its recorded result is replayed, nothing
    runs). One left started by a crash is stopped too and stays in doubt for an admin, who
    settles it on the ledger (`safe_agent.in_doubt`), so a switch never lets it run again.
    """
    call, record = state["pending_calls"][0], recorded_decision(state, config, services)
    if record is None or not (record.runnable or record.status == "voided"):
        return None  # not on record: execute_tool refuses it itself
    key = idempotency_key_for(thread_id_of(config) or state.get("run_id", ""), str(call["id"]))
    row = services.executions.get(key)
    if row is not None and row.finished:
        return None
    verdict = _stopped(record, services)
    if verdict is None:
        return None
    doubt = row is not None and row.status == "started"
    text = f"Stopped ({ReasonCode.KILL_SWITCH.value}): {verdict.detail}. Not run." + (
        " An earlier attempt may have run: it stays in doubt until an admin reconciles it."
        if doubt
        else ""
    )
    event = make_event(
        "execute_tool",
        "tool_stopped",
        state,
        runtime,
        config,
        verdict,
        tool_name=call["name"],
        tool_call_id=call["id"],
        success=False,
        error=verdict.detail,
        input={"digest": record.digest, "in_doubt": doubt},
    )
    message = ToolMessage(content=text, tool_call_id=call["id"], name=call["name"], status="error")
    return {
        "messages": [message],
        "pending_calls": state["pending_calls"][1:],
        "authorization": None,
        "audit_events": [AUDIT_FLUSHED, event],
    }


def void_halt(
    state: State,
    runtime: Runtime[Context],
    config: RunnableConfig,
    services: Services,
    record: DecisionRecord | None,
) -> dict[str, Any] | None:
    """For `approval`: end the run if its request was voided (or a switch covers it now); else None.

    The answer a resume carries is never read: a voided request cannot be approved, whoever
    sends what. The run halts rather than going back to the model, so settling a voided thread
    calls no model; the requester asks again once the target is back on.
    """
    if record is None or record.status not in ("requested", "voided"):
        return None
    verdict = _stopped(record, services)
    if verdict is None:
        return None
    call, later = state["pending_calls"][0], state["pending_calls"][1:]
    why = f"the approval request was voided ({ReasonCode.KILL_SWITCH.value}): {verdict.detail}"
    notes = [
        ToolMessage(
            content=f"Not run: {why}. Switching it back on does not revive it; ask again.",
            tool_call_id=call["id"],
            name=call["name"],
            status="error",
        )
    ]
    notes += [
        ToolMessage(
            content=f"Not run: the run was stopped because {why}.",
            tool_call_id=c["id"],
            name=c["name"],
            status="error",
        )
        for c in later
    ]
    thread, ids = decision_thread(state, config), {str(c["id"]) for c in later}
    for request in services.decisions.open_requests(
        thread
    ):  # the rest of its batch waits for nothing
        if request.tool_call_id in ids:
            services.decisions.close(
                thread_id=thread,
                tool_call_id=request.tool_call_id,
                digest=request.digest,
                status="abandoned",
                decided_by=None,
                now=services.clock(),
            )
    event = make_event(
        "approval",
        "approval_voided",
        state,
        runtime,
        config,
        verdict,
        tool_name=call["name"],
        tool_call_id=call["id"],
        approver_id=record.decided_by,
        success=False,
        input={"outcome": "voided", "digest": record.digest},
    )
    update = halt_update(
        verdict,
        event,
        f"The operator stopped this: {why}. {call['name']} was not run; please ask again later.",
    )
    return {**update, "messages": [*notes, *update["messages"]]}
