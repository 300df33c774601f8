"""Node: redact personal data and secrets from the final answer before anyone sees or stores it."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from graph.context import Context
from graph.services import Services
from graph.state import State
from nodes._common import make_event
from policies.redaction import redact_text
from policies.verdict import Decision, ReasonCode, Verdict, allow


def validate_output(state: State, runtime: Runtime[Context], config: RunnableConfig, *, services: Services) -> dict[str, Any]:
    """Replace the final answer with its redacted form when it carries PII or secrets."""
    final = state["messages"][-1]
    text = final.content if isinstance(final.content, str) else str(final.content)
    redaction = redact_text(text)
    if redaction.kinds:
        verdict = Verdict(Decision.ALLOW, ReasonCode.OUTPUT_REDACTED, f"redacted: {', '.join(redaction.kinds)}",
                          "output.redaction", {"kinds": list(redaction.kinds)})
    else:
        verdict = allow("output.redaction")
    event = make_event("validate_output", "output_verdict", state, runtime, config, verdict,
                       input={"chars": len(text)}, success=True)
    update: dict[str, Any] = {"outcome": "answered", "audit_events": [event]}
    if redaction.kinds:
        update["messages"] = [AIMessage(content=redaction.text, id=final.id, response_metadata=final.response_metadata,
                                        usage_metadata=getattr(final, "usage_metadata", None))]
    return update
