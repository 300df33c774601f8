"""What validate_input judges: new human messages (guard, then PII), the recursion limit, access.

Kept apart from the node so the node reads as read -> decide -> record -> return.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.messages import AnyMessage, HumanMessage
from langchain_core.runnables import RunnableConfig

from safe_agent.graph.services import Services
from safe_agent.graph.state import State
from safe_agent.nodes._identity import Caller
from safe_agent.nodes._pii import ENTRY_PII, protect_text
from safe_agent.policies.input_guard import (
    DETECTOR_THRESHOLD,
    InjectionDetector,
    check_input,
    normalise,
)
from safe_agent.policies.pii import Finding, check_pii, check_summary, combined, summary
from safe_agent.policies.pii_config import PiiConfig
from safe_agent.policies.threads import may_use_thread
from safe_agent.policies.verdict import ReasonCode, Role, Verdict, allow, deny
from safe_agent.stores.vault import Protected, Vault


def withheld(reason: ReasonCode) -> str:
    """The placeholder that stands in the thread for a refused message."""
    return f"[message withheld by the input policy: {reason.value}]"


def new_human_messages(state: State) -> list[HumanMessage]:
    judged = set(state.get("judged_ids") or ())
    messages: list[AnyMessage] = state.get("messages") or []
    return [m for m in messages if isinstance(m, HumanMessage) and m.id not in judged]


def _text(message: HumanMessage) -> str:
    return message.content if isinstance(message.content, str) else str(message.content)


def judge_messages(
    fresh: list[HumanMessage],
    max_chars: int,
    detector: InjectionDetector | None = None,
    threshold: float = DETECTOR_THRESHOLD,
    protect: Callable[[str], Protected] | None = None,
) -> tuple[Verdict, list[HumanMessage], int, list[dict[str, object]]]:
    """Judge each new message; return the first refusal (or allow), the rewrites, the chars, and
    what `protect` (the `[input.pii]` policy) and the entry point (`ENTRY_PII`) found: kinds,
    actions and counts, never values.

    A message the guard passes is rewritten with its PII tokenized or redacted, by id, exactly as
    a refused one is replaced by its placeholder: the raw text never reaches the model.
    """
    first_refusal: Verdict | None = None
    rewrites: list[HumanMessage] = []
    chars = 0
    findings: list[Finding] = []
    actions: list[str] = []
    at_entry: list[dict[str, object]] = []
    for message in fresh:
        entry = entry_summary(message)
        at_entry.extend(entry)
        verdict, text = check_input(
            text=_text(message),
            max_chars=max_chars,
            detector=detector,
            detector_threshold=threshold,
        )
        chars += len(text)
        if verdict.allowed and protect is not None:
            done = protect(text)
            findings.extend(done.findings)
            actions.extend(done.actions)
            verdict, text = check_pii(done.findings, done.actions), str(done.value)
        if verdict.allowed:
            verdict = check_summary(entry)
        if not verdict.allowed:
            first_refusal = first_refusal or verdict
            rewrites.append(HumanMessage(content=withheld(verdict.reason_code), id=message.id))
        elif text != message.content:
            rewrites.append(HumanMessage(content=text, id=message.id))
    return (
        first_refusal or allow("input"),
        rewrites,
        chars,
        combined(summary(findings, actions), at_entry),
    )


def entry_text(
    vault: Vault | None, config: PiiConfig, scope: str, text: str
) -> tuple[str, list[dict[str, object]]]:
    """What an entry point lets into a thread for a user's text, before the first checkpoint: the
    (NFKC-normalised) text with `[input.pii]` applied, a blocked one replaced by its placeholder,
    and the kinds, actions and counts found (validate_input audits them; "block" refuses)."""
    try:
        text = normalise(text)
    except Exception:  # noqa: BLE001 - validate_input refuses what cannot be normalised
        return text, []
    done = protect_text(vault, config, scope, text)
    verdict = check_pii(done.findings, done.actions)
    shown = str(done.value) if verdict.allowed else withheld(verdict.reason_code)
    return shown, done.summary()


def tokenize_input(services: Services, thread_id: str, text: str) -> HumanMessage:
    """The user's message as the facade sends it into the graph: protected by `entry_text`, so
    not even the first checkpoint (or a stream of it) holds a value the policy takes out."""
    shown, found = entry_text(services.vault, services.config.input.pii, thread_id, text)
    return HumanMessage(content=shown, additional_kwargs={ENTRY_PII: found})


def protect_run_input(vault: Vault | None, config: PiiConfig, scope: str, payload: Any) -> Any:
    """A server run's `input` with each user message passed through `entry_text` (the auth
    handler calls it before the server stores the run). Shapes the server accepts: a text, a
    `(role, text)` pair or a message object whose content is a text or a list of blocks; a
    client's own `ENTRY_PII` value is replaced. Anything else is returned as it is (the run
    policy has already judged the shape)."""
    if not isinstance(payload, dict) or "messages" not in payload:
        return payload
    messages = payload["messages"]
    many = isinstance(messages, list)
    rewritten = [
        _protect_message(vault, config, scope, m) for m in (messages if many else [messages])
    ]
    return {**payload, "messages": rewritten if many else rewritten[0]}


def _protect_message(vault: Vault | None, config: PiiConfig, scope: str, message: Any) -> Any:
    if isinstance(message, str):
        message = {"role": "user", "content": message}
    elif isinstance(message, (list, tuple)) and len(message) == 2 and isinstance(message[1], str):
        message = {"role": message[0], "content": message[1]}
    if not isinstance(message, dict) or {message.get("role"), message.get("type")} & {
        "ai",
        "assistant",
        "tool",
        "system",
    }:
        return message
    found: list[dict[str, object]] = []

    def protect(text: str) -> str:
        shown, summary_of_text = entry_text(vault, config, scope, text)
        found.extend(summary_of_text)
        return shown

    content = message.get("content")
    if isinstance(content, str):
        content = protect(content)
    elif isinstance(content, list):
        content = [
            protect(b)
            if isinstance(b, str)
            else {**b, "text": protect(b["text"])}
            if isinstance(b, dict) and isinstance(b.get("text"), str)
            else b
            for b in content
        ]
    extra = message.get("additional_kwargs")
    extra = {**extra} if isinstance(extra, dict) else {}
    extra[ENTRY_PII] = found
    return {**message, "content": content, "additional_kwargs": extra}


def entry_summary(message: HumanMessage) -> list[dict[str, object]]:
    """What an entry point recorded it did to `message` (`ENTRY_PII`), checked for shape: only
    well-formed kind/action/count rows of known actions count."""
    rows = (message.additional_kwargs or {}).get(ENTRY_PII)
    if not isinstance(rows, list):
        return []
    return [
        {"kind": r["kind"][:40], "action": r["action"], "count": r["count"]}
        for r in rows
        if isinstance(r, dict)
        and isinstance(r.get("kind"), str)
        and r.get("action") in ("tokenize", "redact", "block", "allow")
        and isinstance(r.get("count"), int)
        and not isinstance(r.get("count"), bool)
    ]


def recursion_verdict(config: RunnableConfig, services: Services) -> Verdict:
    cap = services.config.recursion_limit
    asked = (config or {}).get("recursion_limit", cap)
    if isinstance(asked, int) and not isinstance(asked, bool) and 0 < asked <= cap:
        return allow("run.recursion_limit")
    return deny(
        ReasonCode.RECURSION_LIMIT,
        f"the run asked for recursion_limit {str(asked)[:20]}; the operator's cap is {cap}",
        "run.recursion_limit",
        limit=cap,
    )


def thread_access(
    state: State, caller: Caller | None, owner: str | None, verdict: Verdict
) -> Verdict:
    if caller is None:
        return verdict
    return may_use_thread(owner_id=owner, caller_id=caller.user_id, caller_role=Role(caller.role))


def calls_in_doubt(thread: str | None, services: Any) -> Verdict:
    """Refuse new input while a non-idempotent call of the thread may have had an unrecorded effect.

    The thread's state is left as it is (the call in flight stays in it), so an admin can still
    settle it with `reconcile`; see `safe_agent.in_doubt`.
    """
    rows = services.executions.unfinished(thread) if thread else []
    stuck = [r for r in rows if not getattr(services.tools.get(r.tool_name), "idempotent", False)]
    if not stuck:
        return allow("input.in_doubt")
    return deny(
        ReasonCode.IN_DOUBT,
        f"{stuck[0].tool_name} ({stuck[0].tool_call_id}) started and never reported back; an admin "
        f"must reconcile it first (safe-agent reconcile {thread} --done, or --not-done)",
        "input.in_doubt",
    )
