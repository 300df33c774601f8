"""Kill switches from the operator's side: throw one, and void what it covers, everywhere at once.

A switch is a row in `safety.sqlite`, read on every check by every process (never cached).
Throwing one also voids every approval request still waiting that it covers (tool, requester,
tenant, tier for `writes`, proposing model), in one transaction on the decision ledger, with an
audit row per request: another process's `pending` stops listing it at once, and its approval
node refuses it whatever the resume says. Threads in this process's checkpoint file are settled
right away (resumed to the approval node, which ends the run with the void; no model is called),
so reading one shows the void; a thread kept elsewhere (a LangGraph server) shows it on its next
resume. Switching the target back on revives nothing: the requester asks again.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from langgraph.types import Command

from safe_agent.errors import Forbidden, InvalidInput, SafeAgentError
from safe_agent.graph.context import Context
from safe_agent.nodes._switches import record_targets
from safe_agent.policies.identity import canonical_id
from safe_agent.policies.kill_switch import (
    TARGET_HELP,
    KillSwitch,
    check_kill_switches,
    is_valid_target,
)
from safe_agent.policies.verdict import Verdict
from safe_agent.results import PendingApproval
from safe_agent.stores.decisions import DecisionRecord

if TYPE_CHECKING:
    from safe_agent.facade import SafeAgent


class Voided(Forbidden):
    """The approval request was voided by a kill switch: it can never be approved; ask again."""

    reason_code = "kill_switch"


@dataclass(frozen=True)
class SwitchedOff:
    """What throwing a switch did: the switch, the requests it voided, the threads settled here."""

    switch: KillSwitch
    voided: list[dict[str, Any]] = field(default_factory=list)
    settled: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict (what `switch-off --json` prints)."""
        return {**dataclasses.asdict(self.switch), "voided": self.voided, "settled": self.settled}


def operator_target(target: str, operator_id: str, operator_role: str) -> tuple[str, Context]:
    """Check the operator (admin) and the target; return the canonical target and the context."""
    from safe_agent.facade import _context  # the facade's identity check, one place

    context = _context(operator_id, operator_role, None, None)
    if isinstance(target, str) and target.startswith("user:"):
        target = (
            f"user:{canonical_id(target[5:]) or ''}"  # the ledger and the checks use canonical ids
        )
    if not is_valid_target(target):
        raise InvalidInput(f"unknown switch target {str(target)[:60]!r}: use {TARGET_HELP}")
    if context.role != "admin":
        raise Forbidden("kill switches need the admin role")
    return target, context


def switch_off(
    agent: SafeAgent, target: str, *, reason: str, operator_id: str, operator_role: str
) -> SwitchedOff:
    """Stop `target` everywhere, void the pending approvals it covers, settle local threads."""
    target, context = operator_target(target, operator_id, operator_role)
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("say why the switch is thrown (--reason)")
    services, why = agent.services, reason.strip()[:500]
    now = services.clock()
    services.switches.switch_off(target, reason=why, set_by=context.user_id, now=now)
    agent.record_operator_action("switch_off", target, context.user_id, why)
    switch = services.switches.active().get(target) or KillSwitch(target, why, context.user_id, now)
    detail = check_kill_switches(targets=[target], active={target: switch}).detail
    voided = services.decisions.void_requests(
        lambda r: target in record_targets(r), reason=detail, decided_by=context.user_id, now=now
    )
    services.audit.append([_void_event(r, target, detail, context.user_id) for r in voided])
    settled = [
        t for t in dict.fromkeys(r.thread_id for r in voided) if settle_voided(agent, t, context)
    ]
    return SwitchedOff(
        switch,
        [
            {
                "thread_id": r.thread_id,
                "tool_call_id": r.tool_call_id,
                "tool_name": r.tool_name,
                "requester_id": r.requester_id,
            }
            for r in voided
        ],
        settled,
    )


def switch_on(agent: SafeAgent, target: str, *, operator_id: str, operator_role: str) -> bool:
    """Revive `target`; return whether it had been switched off. Voided requests stay voided."""
    target, context = operator_target(target, operator_id, operator_role)
    revived = agent.services.switches.switch_on(target)
    agent.record_operator_action(
        "switch_on", target, context.user_id, "revived" if revived else "was not off"
    )
    return revived


def _void_event(
    record: DecisionRecord, target: str, detail: str, operator_id: str
) -> dict[str, Any]:
    """One audit row per voided request (id is the request's: a retried switch writes it once)."""
    seed = f"{record.thread_id}|{record.tool_call_id}|{record.digest}|approval_voided"
    return {
        "event_id": hashlib.sha256(seed.encode()).hexdigest()[:32],
        "timestamp": datetime.now(UTC).isoformat(timespec="microseconds"),
        "node": "operator",
        "kind": "approval_voided",
        "decision": "deny",
        "reason_code": "kill_switch",
        "policy_id": f"kill_switch.{target.split(':', 1)[0]}",
        "detail": detail,
        "user_id": operator_id,
        "approver_id": operator_id,
        "thread_id": record.thread_id,
        "run_id": record.run_id,
        "tenant": record.tenant,
        "tool_name": record.tool_name,
        "tool_call_id": record.tool_call_id,
        "input": {"target": target, "requester_id": record.requester_id, "digest": record.digest},
        "success": True,
    }


def voided_head(agent: SafeAgent, thread_id: str, request: dict[str, Any]) -> DecisionRecord | None:
    """The ledger row of an approval interrupt's head action, if a kill switch voided it."""
    if (request or {}).get("kind", "approval") != "approval":
        return None
    record = agent.services.decisions.get(
        thread_id=thread_id,
        tool_call_id=str(request.get("tool_call_id")),
        digest=str(request.get("action_digest")),
    )
    return record if record is not None and record.status == "voided" else None


def listed(agent: SafeAgent, pending: PendingApproval) -> bool:
    """Say whether `pending` lists this item (a voided approval is not waiting for anyone)."""
    return (
        pending.kind != "approval" or voided_head(agent, pending.thread_id, pending.request) is None
    )


def settle_voided(agent: SafeAgent, thread_id: str, context: Context) -> bool:
    """If the thread waits on a voided approval here, resume it so it ends with the void; say so.

    The approval node reads the ledger, never the resume value; the value sent has one decision
    too many all the same, so that if it were ever read it could only be refused.
    """
    snap = agent.graph.get_state(agent._config(thread_id))
    if not snap.interrupts or voided_head(agent, thread_id, snap.interrupts[0].value or {}) is None:
        return False
    shown = len((snap.interrupts[0].value or {}).get("action_requests") or ()) + 1
    payload = {
        "decisions": [{"type": "reject", "message": "voided by a kill switch"}] * min(shown, 50)
    }
    try:
        agent._invoke(Command(resume={snap.interrupts[0].id: payload}), thread_id, context)
    except SafeAgentError:
        return False  # still voided on the ledger: its approval node refuses it on the next resume
    return True


def refuse_if_voided(
    agent: SafeAgent, thread_id: str, pending: PendingApproval | None, context: Context
) -> None:
    """Raise `Voided` naming the switch if the approval being answered was voided (settling it)."""
    if pending is not None:
        head = voided_head(agent, thread_id, pending.request)
        if head is not None:
            settle_voided(agent, thread_id, context)  # the requester's thread is told now
    else:
        run_id = agent.graph.get_state(agent._config(thread_id)).values.get("run_id")
        head = next(
            (
                r
                for r in agent.services.decisions.voided(thread_id)
                if run_id and r.run_id == run_id
            ),
            None,
        )
    if head is not None:
        raise Voided(
            f"the approval request for {head.tool_name} on thread {thread_id} was voided: "
            f"{head.reason}; approving it is refused, the requester must ask again",
            thread_id=thread_id,
            tool_call_id=head.tool_call_id,
        )


def stopping_switch(agent: SafeAgent, thread_id: str, request: dict[str, Any]) -> Verdict | None:
    """The switch (or void) that would stop this call at `execute_tool` now, else None."""
    record = agent.services.decisions.get(
        thread_id=thread_id,
        tool_call_id=str(request.get("tool_call_id")),
        digest=str(request.get("action_digest")),
    )
    if record is None:
        return None
    verdict = check_kill_switches(
        targets=record_targets(record), active=agent.services.switches.active()
    )
    return None if verdict.allowed and record.status != "voided" else verdict
