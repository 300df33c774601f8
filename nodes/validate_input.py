"""Node: check who is calling and every new message before anything else runs; start a fresh run.

Identity comes from `nodes._identity.caller_of` (the server's authenticated principal, or the
trusted Python caller's context). Every human message the node has not judged before is judged,
not only the newest: a client can send several at once, and a message refused on an earlier
turn must not slip through on a later one. A refused message is replaced in the thread by a
short placeholder (same id), so its text never reaches the model, is never charged and cannot
make every later turn fail; a passed one is rewritten (same id) with its PII tokenized or redacted
per `[input.pii]` (`nodes._pii`). A caller who may not use the thread at all leaves nothing in it.
The run's requester and the thread's owner are written to the decision ledger, which later
nodes trust instead of `state["principal"]`.
"""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

from langchain_core.messages import RemoveMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from safe_agent.graph.context import Context
from safe_agent.graph.services import Services
from safe_agent.graph.state import State
from safe_agent.nodes._common import halt_update, make_event, thread_id_of
from safe_agent.nodes._identity import caller_of
from safe_agent.nodes._input import (
    calls_in_doubt,
    judge_messages,
    new_human_messages,
    recursion_verdict,
    thread_access,
)
from safe_agent.nodes._pii import pii_scope, protect_input
from safe_agent.policies.verdict import ReasonCode, deny
from safe_agent.stores.runs import RunPrincipal


def validate_input(
    state: State,
    runtime: Runtime[Context],
    config: RunnableConfig,
    *,
    services: Services,
) -> dict[str, Any]:
    """Start a run for the new human messages; halt it if the caller or any message is refused."""
    thread = thread_id_of(config)
    run_id = uuid.uuid4().hex
    who, caller = caller_of(runtime, config, services)
    owner = (services.runs.thread_owner(thread) if thread else None) or (
        (state.get("principal") or {}).get("user_id")
    )
    access = thread_access(state, caller, owner, who)
    fresh = new_human_messages(state)
    doubt = calls_in_doubt(thread, services) if access.allowed else access
    if not doubt.allowed and access.allowed:  # keep the call in flight in state for `reconcile`
        event = make_event(
            "validate_input", "input_verdict", state, runtime, config, doubt, success=False
        )
        halted = halt_update(doubt, event, f"I can't continue yet: {doubt.detail}.")
        halted["messages"] = [*(RemoveMessage(id=m.id) for m in fresh if m.id), *halted["messages"]]
        return {
            **halted,
            "pending_calls": state.get("pending_calls", []),
            "authorization": state.get("authorization"),
        }
    start: dict[str, Any] = {
        "run_id": run_id,
        "iterations": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "cost_usd": 0.0,
        "pending_calls": [],
        "authorization": None,
        "halt": None,
        "outcome": None,
    }
    if caller is not None and access.allowed:
        start["principal"] = {
            "user_id": caller.user_id,
            "role": caller.role,
            "tenant": caller.tenant,
            "session_id": caller.session_id,
        }
    run_state: State = {**state, **start}  # type: ignore[typeddict-item]
    if not access.allowed:  # nobody, or not this thread's people: leave nothing behind
        event = make_event(
            "validate_input",
            "input_verdict",
            run_state,
            runtime,
            config,
            access,
            input={"messages": len(fresh)},
            success=False,
        )
        event["user_id"] = caller.user_id if caller else ""  # who tried, not the thread's owner
        update = halt_update(access, event, "")
        update["messages"] = [RemoveMessage(id=m.id) for m in fresh if m.id]
        return {**start, **update}
    assert caller is not None
    services.runs.start_run(
        thread_id=thread or run_id,
        run_id=run_id,
        principal=RunPrincipal(caller.user_id, caller.role, caller.tenant, caller.groups),
        now=services.clock(),
    )
    limit = recursion_verdict(config, services)
    rules, scope = services.config.input, pii_scope(state, config, run_id)
    empty = deny(ReasonCode.EMPTY_INPUT, "a run needs a user message to answer", "input.shape")
    verdict, rewrites, chars, pii = (
        (empty, [], 0, [])
        if not fresh
        else judge_messages(
            fresh,
            rules.max_chars,
            services.detector,
            rules.detector_threshold,
            partial(protect_input, services, scope),
        )
    )
    if verdict.allowed and not limit.allowed:
        verdict = limit
    judged = [*(state.get("judged_ids") or ()), *(m.id for m in fresh if m.id)]
    event = make_event(
        "validate_input",
        "input_verdict",
        run_state,
        runtime,
        config,
        verdict,
        input={
            "chars": chars,
            "messages": len(fresh),
            "withheld": sum(1 for r in rewrites if r.content.startswith("[message withheld")),
            "pii": pii,
        },
        success=verdict.allowed,
    )
    update: dict[str, Any] = {**start, "judged_ids": judged}
    if not verdict.allowed:
        message = f"I can't act on that request: {verdict.detail.rstrip('.')}."
        halted = halt_update(verdict, event, message)
        halted["messages"] = [*rewrites, *halted["messages"]]
        return {**update, **halted}
    update["audit_events"] = [event]
    if rewrites:
        update["messages"] = rewrites
    return update
