"""The Python API: run, list pending approvals, resume with a decision, read the audit trail.

`SafeAgent` compiles the graph with a `SqliteSaver` on `var/checkpoints.sqlite` (one saver per
file per process, WAL and a busy timeout), or a `PostgresSaver` when $SAFE_AGENT_DATABASE_URL is
set (`safe_agent.database`), so a run paused here can be resumed by another
process, the CLI, or after a restart. Every method returns a typed result or raises a
`SafeAgentError` with a one-line message; the thread is never left half-written.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.errors import GraphRecursionError
from langgraph.types import Command
from pydantic import ValidationError

from safe_agent import audit_queries, in_doubt, switches
from safe_agent.checkpoints import open_saver, paused_threads
from safe_agent.database import resolve_url
from safe_agent.errors import (
    Forbidden,
    InvalidDecision,
    InvalidInput,
    NothingToResume,
    SafeAgentError,
    ThreadNotFound,
)
from safe_agent.graph.build import build_graph
from safe_agent.graph.context import Context
from safe_agent.graph.services import Services
from safe_agent.nodes._input import tokenize_input
from safe_agent.policies.approval import ApprovalResponse, first_error
from safe_agent.policies.identity import ROLES, canonical_id, check_id, same_person
from safe_agent.policies.kill_switch import KillSwitch
from safe_agent.policies.reconcile import ReconcileResponse
from safe_agent.policies.threads import may_use_thread
from safe_agent.policies.verdict import Role
from safe_agent.results import PendingApproval, RunResult, describe
from safe_agent.settings import build_services
from safe_agent.stores.spend import SpendReport
from safe_agent.tracing import run_config


def _context(
    user_id: str,
    role: str,
    tenant: str | None,
    session_id: str | None,
    groups: Sequence[str] = (),
    resources: Mapping[str, Any] | None = None,
) -> Context:
    """The trusted Python caller's identity, canonical (NFKC, casefold, trimmed) and validated."""
    verdict, canonical = check_id(user_id)
    if not verdict.allowed:
        raise InvalidInput(verdict.detail)
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}, not {str(role)[:40]!r}")
    return Context(
        user_id=canonical,
        role=role,
        tenant=tenant,
        session_id=session_id,
        groups=tuple(g for g in (canonical_id(x) for x in groups) if g),
        resources=dict(resources or {}),
    )


class SafeAgent:
    """The guarded agent, compiled with a durable checkpointer (SQLite, or PostgreSQL if set)."""

    def __init__(
        self,
        services: Services,
        checkpointer: BaseCheckpointSaver[Any] | None = None,
        *,
        database_url: str | None = None,
    ) -> None:
        """Compile the graph for `services` with `checkpointer`; by default the one the setting
        picks (`safe_agent.database`): PostgreSQL at `database_url` (else
        $SAFE_AGENT_DATABASE_URL), else the SQLite file under the data folder."""
        self.services = services
        self.checkpointer = checkpointer or open_saver(services.paths.checkpoints, database_url)
        self.graph = build_graph(services).compile(
            checkpointer=self.checkpointer, name="safe_agent"
        )

    @classmethod
    def open(
        cls, root: str | Path | None = None, *, database_url: str | None = None, **service_args: Any
    ) -> SafeAgent:
        """Build services (config, model, stores under `root`) and compile; see `build_services`.
        A malformed `database_url` (or $SAFE_AGENT_DATABASE_URL) fails before anything is made."""
        resolve_url(database_url)
        return cls(build_services(root=root, **service_args), database_url=database_url)

    def __enter__(self) -> SafeAgent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the checkpoint connection (or PostgreSQL pool)."""
        closing = getattr(getattr(self.checkpointer, "conn", None), "close", None)
        if closing is not None:
            closing()

    def _config(self, thread_id: str, context: Context | None = None) -> dict[str, Any]:
        """The RunnableConfig for `thread_id`; with the caller's `context`, also run name, tags,
        metadata and (when LangSmith tracing is on) the redacting tracer, see
        `safe_agent.tracing`."""
        config: dict[str, Any] = {
            "configurable": {"thread_id": thread_id},
            "recursion_limit": self.services.config.recursion_limit,
        }
        if context is not None:
            config.update(run_config(thread_id, context))
        return config

    def run(
        self,
        message: str,
        *,
        user_id: str,
        role: str,
        thread_id: str | None = None,
        tenant: str | None = None,
        session_id: str | None = None,
        resources: Mapping[str, Any] | None = None,
    ) -> RunResult:
        """Run one request as `user_id` with `role`; a new thread unless `thread_id` is given.

        `resources` are handed to the tools of this run (`ToolCallContext.resources`) beside the
        packs' own, which they cannot replace; they are not stored in the checkpoint.
        """
        context = _context(user_id, role, tenant, session_id, resources=resources)
        if not isinstance(message, str):
            raise InvalidInput("message must be text")
        if thread_id is None:  # a new thread: nobody else owns it, nothing is pending
            thread_id = uuid.uuid4().hex
        else:
            snap = self.graph.get_state(self._config(thread_id))
            owner = self.services.runs.thread_owner(thread_id) or (
                snap.values.get("principal") or {}
            ).get("user_id")
            if not may_use_thread(
                owner_id=owner, caller_id=context.user_id, caller_role=Role(context.role)
            ).allowed:
                raise Forbidden(f"thread {thread_id} belongs to another user")
            in_doubt.refuse_if_in_doubt(self, thread_id)
            if snap.interrupts and not switches.settle_voided(
                self, thread_id, context
            ):  # a voided one ends first
                raise InvalidInput(f"thread {thread_id} is paused at an approval; resume it first")
        return self._invoke(
            {"messages": [tokenize_input(self.services, thread_id, message)]}, thread_id, context
        )

    def resume(
        self,
        thread_id: str,
        decision: Any,
        *,
        approver_id: str,
        approver_role: str,
        interrupt_id: str | None = None,
        approver_groups: Sequence[str] = (),
        resources: Mapping[str, Any] | None = None,
    ) -> RunResult:
        """Answer the thread's pending interrupt as this person.

        For an approval the answer is a HITL decision; for a reconcile, an outcome.

        The decision is bound to the interrupt it answers: pass `interrupt_id` to make sure it is
        the one you reviewed; a stale id is refused and the thread stays paused.
        """
        context = _context(approver_id, approver_role, None, None, approver_groups, resources)
        in_doubt.refuse_if_in_doubt(self, thread_id)
        pending = self.pending_for(thread_id)
        switches.refuse_if_voided(
            self, thread_id, pending, context
        )  # a kill switch voided it: never approvable
        if not pending:
            raise NothingToResume(f"thread {thread_id} is not waiting for an approval")
        if interrupt_id is not None and interrupt_id != pending.interrupt_id:
            raise InvalidDecision(
                f"decision is for interrupt {interrupt_id[:12]}, but thread {thread_id} waits on "
                f"{pending.interrupt_id[:12]}; still paused"
            )
        schema = ReconcileResponse if pending.kind == "reconcile" else ApprovalResponse
        try:
            parsed = schema.model_validate(decision)  # as the node reads it (`read_response`)
        except ValidationError as exc:
            raise InvalidDecision(
                f"invalid decision, thread {thread_id} is still paused: {_first_error(exc)}"
            ) from None
        shown = (
            len(pending.request.get("action_requests") or ()) if pending.kind == "approval" else 0
        )
        sent = len(parsed.decisions) if isinstance(parsed, ApprovalResponse) else shown
        if shown and sent != shown:
            raise InvalidDecision(
                f"invalid decision: {shown} actions are waiting and {sent} "
                f"decisions were sent; thread {thread_id} is still paused"
            )
        return self._invoke(Command(resume={pending.interrupt_id: decision}), thread_id, context)

    def reconcile(
        self, thread_id: str, *, done: bool, operator_id: str, operator_role: str, note: str = ""
    ) -> RunResult:
        """Settle an in-doubt call (admin): bring the thread to its reconcile pause and answer it; a
        call whose thread is lost or moved on is settled on the execution ledger
        (`safe_agent.in_doubt`)."""
        if self.graph.get_state(
            self._config(thread_id)
        ).values:  # a lost run has no thread to continue
            self.recover(thread_id, operator_id=operator_id, operator_role=operator_role)
        return in_doubt.reconcile(
            self,
            thread_id,
            done=done,
            operator_id=operator_id,
            operator_role=operator_role,
            note=note,
        )

    def recover(self, thread_id: str, *, operator_id: str, operator_role: str) -> RunResult:
        """Continue a run whose process died mid-run; an in-doubt non-idempotent call pauses."""
        context = _context(operator_id, operator_role, None, None)
        snap = self.graph.get_state(self._config(thread_id))
        if not snap.values:
            raise ThreadNotFound(f"no thread {thread_id}")
        if (
            not snap.interrupts and snap.next
        ):  # a checkpoint with work left and no pause: the run was cut off
            return self._invoke(None, thread_id, context)
        return self.result(thread_id)

    def sweep(self) -> list[str]:
        """Expire every approval request past its deadline; return the threads that were expired."""
        sweeper = _context("safe-agent:sweeper", "read", None, None)
        expired = [
            p
            for p in self.pending()
            if p.kind == "approval" and p.time_left_s is not None and p.time_left_s <= 0
        ]
        for p in expired:
            rejects = [
                {"type": "reject", "message": "expired"}
                for _ in p.request.get("action_requests") or [{}]
            ]
            self._invoke(
                Command(resume={p.interrupt_id: {"decisions": rejects}}), p.thread_id, sweeper
            )
        return [p.thread_id for p in expired]

    def _invoke(self, payload: Any, thread_id: str, context: Context) -> RunResult:
        try:
            out = self.graph.invoke(
                payload,
                self._config(thread_id, context),
                context=context,
                durability=self.services.config.checkpoint_durability,
            )
        except ValidationError as exc:
            raise InvalidDecision(
                f"invalid decision, thread {thread_id} is still paused: {_first_error(exc)}"
            ) from None
        except GraphRecursionError:
            raise SafeAgentError(f"thread {thread_id} exceeded the graph recursion limit") from None
        if not out:
            return self.result(thread_id)
        return describe(
            thread_id, out, list(out.get("__interrupt__", ()))
        )  # the final state, without a re-read

    def read_thread(self, thread_id: str, *, user_id: str, role: str) -> RunResult:
        """Describe a thread to its owner, an admin, or an approver of its pending call."""
        context = _context(user_id, role, None, None)
        snap = self.graph.get_state(self._config(thread_id))
        if not snap.values:
            raise ThreadNotFound(f"no thread {thread_id}")
        owner = self.services.runs.thread_owner(thread_id) or (
            snap.values.get("principal") or {}
        ).get("user_id")
        request = dict(snap.interrupts[0].value) if snap.interrupts else {}
        approver = (
            bool(request)
            and request.get("kind", "approval") == "approval"
            and not same_person(context.user_id, owner)
            and (Role(context.role).at_least(Role(request.get("approver_role", "admin"))))
        )
        if (
            not approver
            and not may_use_thread(
                owner_id=owner, caller_id=context.user_id, caller_role=Role(context.role)
            ).allowed
        ):
            raise Forbidden(f"thread {thread_id} belongs to another user")
        return describe(thread_id, snap.values, list(snap.interrupts))

    def result(self, thread_id: str) -> RunResult:
        """Describe where a thread stands now (operator view: no identity check)."""
        snap = self.graph.get_state(self._config(thread_id))
        if not snap.values:
            raise ThreadNotFound(f"no thread {thread_id}")
        return describe(thread_id, snap.values, list(snap.interrupts))

    def pending_for(self, thread_id: str) -> PendingApproval | None:
        """What a thread waits for: an approval, or a call in doubt (from the execution ledger)."""
        snap = self.graph.get_state(self._config(thread_id))
        doubt = [
            r
            for r in self.services.executions.unfinished(
                thread_id
            )  # an idempotent call just re-runs
            if not snap.values
            or not getattr(self.services.tools.get(r.tool_name), "idempotent", False)
        ]
        at_reconcile = (
            bool(snap.interrupts) and (snap.interrupts[0].value or {}).get("kind") == "reconcile"
        )
        if doubt and not at_reconcile:
            interrupt_id = snap.interrupts[0].id if snap.interrupts else ""
            idempotent = bool(
                getattr(self.services.tools.get(doubt[0].tool_name), "idempotent", False)
            )
            return PendingApproval(
                thread_id,
                interrupt_id,
                in_doubt.doubt_request(doubt[0], bool(snap.values), idempotent),
            )
        if not snap.interrupts:
            return None
        value = dict(snap.interrupts[0].value)
        deadline = value.get("expires_at_epoch")
        left = None if deadline is None else round(float(deadline) - self.services.clock(), 1)
        return PendingApproval(thread_id, snap.interrupts[0].id, value, left)

    def pending(self) -> list[PendingApproval]:
        """List every paused approval across threads in the checkpoint database."""
        threads = dict.fromkeys(
            [
                *self._threads_with_interrupts(),
                *(row.thread_id for row in self.services.executions.unfinished()),
            ]
        )
        found = [self.pending_for(t) for t in threads]
        return [
            p for p in found if p is not None and switches.listed(self, p)
        ]  # voided ones wait for nobody

    def _threads_with_interrupts(self) -> list[str]:
        """Threads whose latest checkpoint has an interrupt write (`get_state` confirms each)."""
        return paused_threads(self.checkpointer)

    def audit(
        self, *, thread_id: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Read audit rows, oldest first (redacted as stored).

        Rows of a lost thread say `thread_lost`.
        """
        return in_doubt.mark_lost_threads(
            self, self.services.audit.records(thread_id=thread_id, limit=limit)
        )

    def audit_query(self, query: Any) -> audit_queries.Result:
        """Filtered rows, costs, denials or approvals (`safe_agent.audit_queries.run`)."""
        return audit_queries.run(self.services.audit.path, query)

    def switch_off(
        self, target: str, *, reason: str, operator_id: str, operator_role: str
    ) -> KillSwitch:
        """Stop `target` (policies.kill_switch.TARGET_HELP) everywhere until revived, voiding the
        pending approvals it covers (`safe_agent.switches`). Admin only."""
        return switches.switch_off(
            self, target, reason=reason, operator_id=operator_id, operator_role=operator_role
        ).switch

    def switch_on(self, target: str, *, operator_id: str, operator_role: str) -> bool:
        """Revive `target`; return whether it had been switched off. Admin only.

        Voided approvals stay voided.
        """
        return switches.switch_on(
            self, target, operator_id=operator_id, operator_role=operator_role
        )

    def kill_switches(self) -> list[KillSwitch]:
        """List the active kill switches."""
        return sorted(self.services.switches.active().values(), key=lambda k: k.target)

    def record_operator_action(
        self,
        kind: str,
        target: str,
        operator_id: str,
        detail: str,
        *,
        reason_code: str = "kill_switch",
    ) -> None:
        """Append one audit row for an operator's change (kill switch, principal directory)."""
        self.services.audit.append(
            [
                {
                    "event_id": uuid.uuid4().hex,
                    "timestamp": datetime.now(UTC).isoformat(timespec="microseconds"),
                    "node": "operator",
                    "kind": kind,
                    "decision": kind,
                    "reason_code": reason_code,
                    "policy_id": "operator",
                    "detail": detail,
                    "user_id": operator_id,
                    "approver_id": operator_id,
                    "input": {"target": target},
                    "success": True,
                }
            ]
        )

    def spend(self, user_id: str | None = None, tenant: str | None = None) -> SpendReport:
        """Report spend and what is left: the user's and tenant's UTC day, and the global UTC month.

        Spend is settled charges; reserved is held by calls in flight (expired holds excluded).
        Limits shown are the `[budget]` defaults; role overrides apply per run.
        CLI: `safe-agent spend`.
        """
        return self.services.spend.report(
            user_id=user_id,
            tenant=tenant,
            now=self.services.clock(),
            limits=self.services.config.budget,
        )


_first_error = first_error  # one wording for a refused decision, here and in the approval node
