"""The workloads and the one scripted model every system runs them with.

Why one respond function: the comparison is only fair if all three systems see byte-identical
model turns. The script reads the newest user request, looks up that workload's plan, and
emits the next planned tool call (one per turn, so W5 is five sequential model turns) until the
plan is done, then a fixed answer. It depends on nothing but the messages, so it behaves the
same inside `create_agent` and inside our `reason` node.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from safe_agent.chat_models import ScriptedChatModel

ToolPlan = tuple[tuple[str, dict[str, Any]], ...]


@dataclass(frozen=True)
class Workload:
    """One benchmark scenario: the request, the tool calls the model makes, and whether it pauses.

    Attributes:
        key: short id used in the table ("W1", "W5", "WA").
        title: what the row means, for the report.
        request: the user message (also the key the scripted model plans by).
        plan: the tool calls the model makes, one per model turn, in order.
        approval: True when the plan's tool needs a human approval (pause, then resume).
    """

    key: str
    title: str
    request: str
    plan: ToolPlan
    approval: bool = False
    tool_names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        """Derive which tools the plan uses (for the sanity check of a finished run)."""
        object.__setattr__(self, "tool_names", tuple(name for name, _ in self.plan))

    @property
    def model_turns(self) -> int:
        """Model calls one complete run makes: one per tool call plus the final answer."""
        return len(self.plan) + 1


_KB_QUERIES = (
    "refund policy",
    "shipping times",
    "returns window",
    "warranty claims",
    "account deletion",
)

W1 = Workload(
    "W1",
    "one tool call, then an answer",
    "How do refunds work?",
    (("search_kb", {"query": _KB_QUERIES[0]}),),
)
W5 = Workload(
    "W5",
    "five tool calls (five sequential turns), then an answer",
    "Summarise refunds, shipping, returns, warranty and account deletion.",
    tuple(("search_kb", {"query": q}) for q in _KB_QUERIES),
)
WA = Workload(
    "WA",
    "approval: refund call, pause, resume approve, answer",
    "Please refund 0.01 USD on order 1006 as a goodwill gesture.",
    (("issue_refund", {"order_id": "1006", "amount_usd": 0.01, "reason": "goodwill gesture"}),),
    approval=True,
)

WORKLOADS: tuple[Workload, ...] = (W1, W5, WA)
_BY_REQUEST = {w.request: w for w in WORKLOADS}
ANSWER_PREFIX = "Done after"


def respond(messages: Sequence[BaseMessage]) -> AIMessage:
    """Return the next scripted turn for the newest request: a planned tool call or the answer."""
    start = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1)
    request = str(messages[start].content) if start >= 0 else ""
    workload = _BY_REQUEST.get(request)
    done = sum(1 for m in messages[start + 1 :] if isinstance(m, ToolMessage))
    if workload is not None and done < len(workload.plan):
        name, args = workload.plan[done]
        return AIMessage(
            content="", tool_calls=[{"id": f"call_{done}_{name}", "name": name, "args": dict(args)}]
        )
    return AIMessage(content=f"{ANSWER_PREFIX} {done} tool result(s): here is what I found.")


class BenchChatModel(ScriptedChatModel):
    """The project's ScriptedChatModel driven by `respond`, without keeping every prompt.

    Why a subclass: ScriptedChatModel appends each prompt to `calls` for tests to inspect; over
    thousands of benchmark runs that list grows without bound, skews the memory numbers and is
    shared across threads. Everything else (usage metadata, bind_tools) is inherited.
    """

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> Any:
        """Generate as the parent does, then forget the recorded prompt."""
        result = super()._generate(messages, stop, run_manager, **kwargs)
        self.calls.clear()
        return result


def make_model() -> BenchChatModel:
    """Build a fresh scripted model (one per system, so no state can leak between them)."""
    return BenchChatModel(respond=respond)
