"""What validate_input judges: the new human messages, the run's recursion limit, thread access.

Kept apart from the node so the node reads as read -> decide -> record -> return.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AnyMessage, HumanMessage
from langchain_core.runnables import RunnableConfig

from graph.services import Services
from graph.state import State
from nodes._identity import Caller
from policies.input_guard import DETECTOR_THRESHOLD, InjectionDetector, check_input
from policies.threads import may_use_thread
from policies.verdict import ReasonCode, Role, Verdict, allow, deny


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
) -> tuple[Verdict, list[HumanMessage], int]:
    """Judge each new message; return the first refusal (or allow), the rewrites, and the chars."""
    first_refusal: Verdict | None = None
    rewrites: list[HumanMessage] = []
    chars = 0
    for message in fresh:
        verdict, text = check_input(text=_text(message), max_chars=max_chars, detector=detector,
                                    detector_threshold=threshold)
        chars += len(text)
        if not verdict.allowed:
            first_refusal = first_refusal or verdict
            rewrites.append(HumanMessage(content=withheld(verdict.reason_code), id=message.id))
        elif text != message.content:
            rewrites.append(HumanMessage(content=text, id=message.id))
    return first_refusal or allow("input"), rewrites, chars


def recursion_verdict(config: RunnableConfig, services: Services) -> Verdict:
    cap = services.config.recursion_limit
    asked = (config or {}).get("recursion_limit", cap)
    if isinstance(asked, int) and not isinstance(asked, bool) and 0 < asked <= cap:
        return allow("run.recursion_limit")
    return deny(ReasonCode.RECURSION_LIMIT,
                f"the run asked for recursion_limit {str(asked)[:20]}; the operator's cap is {cap}",
                "run.recursion_limit", limit=cap)


def thread_access(state: State, caller: Caller | None, owner: str | None, verdict: Verdict) -> Verdict:
    if caller is None:
        return verdict
    return may_use_thread(owner_id=owner, caller_id=caller.user_id, caller_role=Role(caller.role))


def calls_in_doubt(thread: str | None, services: Any) -> Verdict:
    """Refuse new input while a non-idempotent call of the thread may have had its effect unrecorded.

    The thread's state is left as it is (the call in flight stays in it), so an admin can still
    settle it with `reconcile`; see `safe_agent.in_doubt`.
    """
    rows = services.executions.unfinished(thread) if thread else []
    stuck = [r for r in rows if not getattr(services.tools.get(r.tool_name), "idempotent", False)]
    if not stuck:
        return allow("input.in_doubt")
    return deny(ReasonCode.IN_DOUBT,
                f"{stuck[0].tool_name} ({stuck[0].tool_call_id}) started and never reported back; an admin "
                f"must reconcile it first (safe-agent reconcile {thread} --done|--not-done)", "input.in_doubt")
