"""Node: redact personal data and secrets from the final answer before anyone sees or stores it.

A model reply never reaches state raw: `reason` passes it through `judge_reply` first (every
stream mode and every checkpoint shows what a node wrote, so the answer must be judged before it
is written) and notes the kinds it replaced in the message's `response_metadata`. This node still
decides on the final answer and audits it: it redacts again whatever is left (a message that did
not come through `reason`, e.g. one a client wrote with `update_state`) and records the verdict
with every kind replaced, at either step. Tool-call arguments are not the answer: they are left
to the input policy (`nodes._pii`), so a tool still receives what it needs.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from safe_agent.graph.context import Context
from safe_agent.graph.services import Services
from safe_agent.graph.state import State
from safe_agent.nodes._common import make_event
from safe_agent.policies.pii import tokens_to_placeholders
from safe_agent.policies.redaction import KINDS, redact_text
from safe_agent.policies.verdict import Decision, ReasonCode, Verdict, allow

JUDGED = "safe_agent_redaction"
"""The `response_metadata` key where `judge_reply` notes the kinds it replaced."""


def _redact_content(content: str | list[Any]) -> tuple[str | list[Any], set[str]]:
    """Redact the text of a message's content: a string, or the text of each content block."""
    if isinstance(content, str):
        shown, token_kinds = tokens_to_placeholders(
            content
        )  # a person reads placeholders, not tokens
        done = redact_text(shown)
        return done.text, set(done.kinds) | set(token_kinds)
    kinds: set[str] = set()
    blocks: list[Any] = []
    for block in content:
        if isinstance(block, str):
            block, found = _redact_content(block)
        elif isinstance(block, dict) and isinstance(block.get("text"), str):
            text, found = _redact_content(block["text"])
            block = {**block, "text": text}
        else:  # tool-use blocks carry call arguments, not the answer
            found = set()
        kinds |= found
        blocks.append(block)
    return blocks, kinds


def judged_kinds(message: BaseMessage) -> list[str]:
    """The kinds `judge_reply` replaced in this message (only known kinds: metadata is data)."""
    noted = (getattr(message, "response_metadata", None) or {}).get(JUDGED) or {}
    found = noted.get("kinds") if isinstance(noted, dict) else None
    return sorted({k for k in found if k in KINDS}) if isinstance(found, list) else []


def judge_reply(reply: AIMessage) -> AIMessage:
    """The reply with its text redacted and the kinds replaced noted, before it enters state."""
    content, kinds = _redact_content(reply.content)
    kinds |= set(judged_kinds(reply))
    metadata = {**reply.response_metadata, JUDGED: {"kinds": sorted(kinds)}}
    return reply.model_copy(update={"content": content, "response_metadata": metadata})


def validate_output(
    state: State, runtime: Runtime[Context], config: RunnableConfig, *, services: Services
) -> dict[str, Any]:
    """Replace the final answer with its redacted form when it carries PII or secrets."""
    final = state["messages"][-1]
    text = final.content if isinstance(final.content, str) else str(final.content)
    content, found = _redact_content(final.content)
    kinds = sorted(found | set(judged_kinds(final)))
    if kinds:
        verdict = Verdict(
            Decision.ALLOW,
            ReasonCode.OUTPUT_REDACTED,
            f"redacted: {', '.join(kinds)}",
            "output.redaction",
            {"kinds": kinds},
        )
    else:
        verdict = allow("output.redaction")
    event = make_event(
        "validate_output",
        "output_verdict",
        state,
        runtime,
        config,
        verdict,
        input={"chars": len(text)},
        success=True,
    )
    update: dict[str, Any] = {"outcome": "answered", "audit_events": [event]}
    if found:
        metadata = {**final.response_metadata, JUDGED: {"kinds": kinds}}
        update["messages"] = [
            AIMessage(
                content=content,
                id=final.id,
                response_metadata=metadata,
                usage_metadata=getattr(final, "usage_metadata", None),
            )
        ]
    return update
