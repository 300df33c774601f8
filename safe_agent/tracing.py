"""LangSmith tracing: named runs with identity and verdicts attached, and nothing secret sent.

Tracing is opt-in with the usual LangSmith variables (`LANGSMITH_TRACING=true`, or
`LANGCHAIN_TRACING_V2=true`; `LANGSMITH_ENDPOINT`, `LANGSMITH_API_KEY` and `LANGSMITH_PROJECT`
as usual). `run_config` returns what `SafeAgent` adds to every run's `RunnableConfig`:

* always a run name (`safe_agent`), tags (`safe-agent`, `role:<role>`) and metadata (`user_id`,
  `role`, `tenant`, `session_id`, `thread_id`), which every node run inherits;
* when tracing is on, a `RedactingTracer`: a `LangChainTracer` whose `langsmith.Client` runs
  every input, output, error and metadata value through `policies.redaction.redact_value`
  before a run is queued for upload, and which also redacts the parts the client does not
  (serialized model, events, other `extra` fields). Because the run's callbacks already hold a
  `LangChainTracer`, LangChain does not add its own environment tracer (which would send the same
  runs unredacted).

When tracing is off nothing here creates a client, a tracer or a thread, so nothing touches the
network. See docs/tracing.md.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from langchain_core.tracers.langchain import LangChainTracer

from safe_agent.policies.redaction import redact_value

if TYPE_CHECKING:
    from langsmith import Client

RUN_NAME = "safe_agent"
BASE_TAG = "safe-agent"
FLUSH_TIMEOUT_S = 10.0

SAFETY_CONCERNS = {
    "validate_input": "input_validation",
    "budget_check": "budget",
    "breaker_check": "circuit_breaker",
    "reason": "model_call",
    "authorize": "authorization",
    "approval": "human_approval",
    "execute_tool": "tool_execution",
    "validate_output": "output_redaction",
    "audit": "audit_log",
}
"""What each graph node guards; a node's trace run carries it as `safety_concern` metadata."""

_TRACING_FLAGS = (
    "LANGSMITH_TRACING_V2",
    "LANGCHAIN_TRACING_V2",
    "LANGSMITH_TRACING",
    "LANGCHAIN_TRACING",
)
_TRUTHY = {"true", "1", "yes", "on"}

_clients: dict[tuple[str | None, str | None], Client] = {}
_clients_lock = threading.Lock()


def tracing_enabled() -> bool:
    """Say if runs should be traced: a LangSmith tracing variable is truthy, or langsmith says so.

    Deliberately at least as eager as LangChain's own check (`langsmith.utils.tracing_is_enabled`,
    which also honours `langsmith.configure` and `tracing_context`): whenever LangChain would add
    its own, unredacting tracer, the redacting one is already in place instead.
    """
    if any((os.environ.get(name) or "").strip().lower() in _TRUTHY for name in _TRACING_FLAGS):
        return True
    from langsmith import utils as ls_utils

    return bool(ls_utils.tracing_is_enabled())


def redact_for_trace(data: Any) -> Any:
    """Redact a copy of a run's inputs, outputs, error or metadata (the client's anonymizer)."""
    return redact_value(data)[0]


def _env(*names: str) -> str | None:
    return next((value for name in names if (value := (os.environ.get(name) or "").strip())), None)


def redacting_client() -> Client:
    """Return this process's LangSmith client for the current endpoint and key, with redaction on.

    One client per (endpoint, key): a client owns background upload threads, so it is reused.
    """
    from langsmith import Client

    api_url = _env("LANGSMITH_ENDPOINT", "LANGCHAIN_ENDPOINT")
    api_key = _env("LANGSMITH_API_KEY", "LANGCHAIN_API_KEY")
    with _clients_lock:
        client = _clients.get((api_url, api_key))
        if client is None:
            client = Client(api_url=api_url, api_key=api_key, anonymizer=redact_for_trace)
            _clients[(api_url, api_key)] = client
    return client


def flush(timeout: float | None = FLUSH_TIMEOUT_S) -> None:
    """Wait (bounded) until every queued trace is uploaded; a no-op when nothing was traced."""
    with _clients_lock:
        clients = list(_clients.values())
    for client in clients:
        try:
            client.flush(timeout=timeout)
        except Exception:  # noqa: BLE001 - tracing must never break the caller
            pass


def reset() -> None:
    """Flush and close every client made here (tests, or after the endpoint or key changed)."""
    with _clients_lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        try:
            client.close(timeout=FLUSH_TIMEOUT_S)
        except Exception:  # noqa: BLE001
            pass


atexit.register(flush)  # a CLI run exits right after invoke: send its trace first


def _audit_events(outputs: Any) -> list[Mapping[str, Any]]:
    """The audit events in a node's output (what `nodes._common.make_event` built)."""
    events = outputs.get("audit_events") if isinstance(outputs, Mapping) else None
    return [e for e in events if isinstance(e, Mapping)] if isinstance(events, list) else []


def _node_verdict_metadata(outputs: Any) -> dict[str, Any]:
    """Metadata for a finished node run: its verdicts and audit run id.

    Each verdict gives the decision, reason code and policy.
    """
    events = _audit_events(outputs)
    verdicts = [
        {key: e.get(key) for key in ("kind", "decision", "reason_code", "policy_id")}
        for e in events
        if e.get("decision")
    ]
    added: dict[str, Any] = {}
    if verdicts:
        added["verdicts"] = verdicts
        added["decisions"] = sorted({str(v["decision"]) for v in verdicts})
        added["reason_codes"] = sorted(
            {str(v["reason_code"]) for v in verdicts if v["reason_code"]}
        )
    run_ids = [e["run_id"] for e in events if e.get("run_id")]
    if run_ids:
        added["audit_run_id"] = run_ids[-1]
    return added


class RedactingTracer(LangChainTracer):
    """A LangChainTracer that redacts what the client's anonymizer misses, and adds verdicts."""

    def _persist_run_single(self, run: Any) -> None:
        _scrub(run)
        super()._persist_run_single(run)

    @staticmethod
    def _update_run_single(run: Any) -> None:
        _scrub(run)
        LangChainTracer._update_run_single(run)

    def _on_chain_start(self, run: Any) -> None:
        # A node's run (not its routers or the model under it): say what it guards.
        if _is_node_run(run) and run.name in SAFETY_CONCERNS:
            run.extra["metadata"] = {
                **run.metadata,
                "safety_concern": SAFETY_CONCERNS[run.name],
            }  # a copy
        super()._on_chain_start(run)

    def _on_chain_end(self, run: Any) -> None:
        # A node's run: attach its verdicts and the audit log's run id as filterable metadata.
        if _is_node_run(run) and (added := _node_verdict_metadata(run.outputs)):
            run.extra["metadata"] = {**run.metadata, **added}  # a copy: the dict may be shared
        super()._on_chain_end(run)


def _is_node_run(run: Any) -> bool:
    """Say whether a run is a graph node's own run (LangGraph names it after the node)."""
    return run.metadata.get("langgraph_node") == run.name


def _scrub(run: Any) -> None:
    """Redact the run fields the client's anonymizer leaves alone.

    The anonymizer covers inputs, outputs, error and metadata.
    """
    if run.serialized:
        run.serialized = redact_value(run.serialized)[0]
    if run.events:
        run.events = redact_value(run.events)[0]
    if run.extra:
        run.extra = {
            key: value if key == "metadata" else redact_value(value)[0]
            for key, value in run.extra.items()
        }


def redacting_tracer() -> RedactingTracer:
    """Return a new RedactingTracer on the redacting client (project from LANGSMITH_PROJECT)."""
    return RedactingTracer(
        client=redacting_client(), project_name=_env("LANGSMITH_PROJECT", "LANGCHAIN_PROJECT")
    )


def run_config(thread_id: str, context: Any | None = None) -> dict[str, Any]:
    """Return the run name, tags, metadata and (when tracing is on) callbacks for one run.

    Args:
        thread_id: the run's thread.
        context: the caller's `graph.context.Context` (user_id, role, tenant, session_id), if known.

    Returns:
        Keys to merge into a `RunnableConfig`: `run_name`, `tags`, `metadata` and, only when
        tracing is enabled, `callbacks` holding one redacting tracer.
    """
    role = getattr(context, "role", None)
    metadata: dict[str, Any] = {"thread_id": thread_id}
    if context is not None:
        metadata.update(
            user_id=context.user_id, role=role, tenant=context.tenant, session_id=context.session_id
        )
    config: dict[str, Any] = {
        "run_name": RUN_NAME,
        "tags": [BASE_TAG, *([f"role:{role}"] if role else [])],
        "metadata": metadata,
    }
    if tracing_enabled():
        config["callbacks"] = [redacting_tracer()]
    return config
