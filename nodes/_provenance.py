"""How authorize applies the provenance policy: gather what the model saw, trace the sinks, merge.

Evidence comes from the thread's messages: the user's own messages, and tool results whose trust
is read from the tool's *current* policy (never from a label in state). The verdict is merged
into authorize's: a tainted sink turns an allowed write into an approval request under the
operator's `[approval.provenance]` rule, adds the provenance to a request a tier rule already
made, or denies when the tool's policy says so.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import HumanMessage, ToolMessage

from safe_agent.graph.services import Services
from safe_agent.graph.state import State
from safe_agent.policies.provenance import (
    Evidence,
    check_provenance,
    leaf_text,
    numeric_values,
    trace_sinks,
)
from safe_agent.policies.verdict import Decision, ReasonCode, Verdict


def gather_evidence(state: State, services: Services) -> list[Evidence]:
    """Return the thread's content with its trust: user messages, then tool results."""
    evidence: list[Evidence] = []
    for message in state.get("messages", []):
        if isinstance(message, HumanMessage):
            evidence.append(Evidence("user", "user message", str(message.content)))
        elif isinstance(message, ToolMessage):
            evidence.extend(_tool_evidence(message, services))
    return evidence


def _tool_evidence(message: ToolMessage, services: Services) -> list[Evidence]:
    spec = services.tools.get(message.name or "")
    source = f"{message.name} ({message.tool_call_id})"
    try:
        envelope = json.loads(str(message.content))
    except ValueError:
        envelope = None
    if not isinstance(envelope, dict) or "data" not in envelope:
        return [Evidence("untrusted", source, str(message.content))]
    data = envelope["data"]
    if spec is not None and spec.policy.trusted_output:
        return [_structured("trusted", source, data)]
    fields = set(spec.policy.trusted_fields) if spec is not None else set()
    if isinstance(data, dict) and fields:
        trusted = {k: v for k, v in data.items() if k in fields}
        rest = {k: v for k, v in data.items() if k not in fields}
        return [_structured("trusted", source, trusted), _structured("untrusted", source, rest)]
    if "data_text" in envelope:  # cut output: only text is left, so its numbers count as text
        return [Evidence("untrusted", source, str(envelope["data_text"]))]
    return [_structured("untrusted", source, data)]


def _structured(trust: str, source: str, data: Any) -> Evidence:
    return Evidence(trust, source, leaf_text(data), numbers=numeric_values(data))  # type: ignore[arg-type]


def with_provenance(
    verdict: Verdict, call: dict[str, Any], state: State, services: Services
) -> Verdict:
    """Merge the provenance verdict for `call` into authorize's `verdict` (allow or ask)."""
    spec = services.tools.get(str(call["name"]))
    if verdict.decision is Decision.DENY or spec is None:
        return verdict
    evidence = gather_evidence(state, services)
    origins = trace_sinks(args=verdict.data.get("args") or {}, sinks=spec.sinks, evidence=evidence)
    judged = check_provenance(
        tool_name=spec.name,
        tier=spec.tier,
        origins=origins,
        untrusted_seen=any(e.trust == "untrusted" for e in evidence),
        on_untrusted=spec.policy.untrusted_sinks,
    )
    if judged.decision is Decision.ALLOW:
        return verdict
    if judged.decision is Decision.DENY:
        return judged
    data = {
        **verdict.data,
        "provenance": judged.data["provenance"],
        "provenance_note": judged.detail,
    }
    if verdict.decision is Decision.ASK_APPROVAL:
        return Verdict(
            verdict.decision, verdict.reason_code, verdict.detail, verdict.policy_id, data
        )
    rule = services.config.approval.provenance
    data.update(
        rule_id=rule.id,
        quorum=rule.quorum,
        ttl_s=rule.ttl_s,
        approver_role=rule.approver_role.value,
        approver_groups=list(rule.approver_groups),
        separate_requester=rule.separate_requester,
    )
    return Verdict(
        Decision.ASK_APPROVAL, ReasonCode.UNTRUSTED_SINK, judged.detail, f"approval.{rule.id}", data
    )


def provenance_summary(verdict: Verdict) -> list[dict[str, Any]]:
    """Return the provenance for the audit row: argument, origin and source, never the quote."""
    return [
        {k: p.get(k) for k in ("arg", "origin", "source")}
        for p in verdict.data.get("provenance", [])
    ]
