"""The three systems under test, behind one small interface: start a run, resume it, check it.

Why wrappers: each system is driven through its own public API (`agent.invoke` for LangChain,
`SafeAgent.run`/`resume` for ours), but the timing loop must not care which one it holds. All
of them run the same tool functions (`tools.<name>.SPEC.run` with a `ToolCallContext`), the same
scripted model, the same system prompt, and a `SqliteSaver` from `safe_agent.open_checkpointer`
on their own temporary file, so only framework and safety work differ.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

from langchain.agents import create_agent
from langchain.agents.middleware import (
    HumanInTheLoopMiddleware,
    ModelCallLimitMiddleware,
    ModelRetryMiddleware,
    PIIMiddleware,
    ToolCallLimitMiddleware,
    ToolRetryMiddleware,
)
from langchain.tools import ToolRuntime
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool, StructuredTool
from langgraph.types import Command

from bench.workloads import ANSWER_PREFIX, Workload, make_model
from safe_agent import SafeAgent, open_checkpointer
from safe_agent.graph.context import Context
from safe_agent.graph.prompts import DATA_NOTE
from safe_agent.policies.config import (
    BudgetConfig,
    RateLimitConfig,
    RoleRequestLimits,
    SafetyConfig,
)
from safe_agent.settings import build_services
from safe_agent.tools import issue_refund, search_kb
from safe_agent.tools.desk import DESK_DB, create_desk
from safe_agent.tools.spec import ToolCallContext, ToolFailure, ToolSpec
from safe_agent.tools.support_desk import PACK, SYSTEM_PROMPT

APPROVE: dict[str, Any] = {"decisions": [{"type": "approve"}]}
REQUESTER = Context(user_id="bench-user", role="write")
APPROVER = Context(user_id="bench-admin", role="admin")
LIMIT = 10
"""Model and tool calls allowed per run in (b) and (c): enough for W5 (6 model turns) to finish."""


class BenchError(RuntimeError):
    """A system did not do what the workload expects, so its timings would be meaningless."""


class System(Protocol):
    """What the timing loop needs from a system."""

    key: str
    label: str
    checkpoint_path: Path

    def start(self, workload: Workload, thread_id: str) -> bool:
        """Run the workload's request on a new thread; return True if it paused at an approval."""

    def resume(self, thread_id: str) -> None:
        """Approve the paused call and run to the end."""

    def check(self, workload: Workload, thread_id: str) -> None:
        """Raise BenchError unless the thread ran every planned tool and answered."""

    def close(self) -> None:
        """Release the checkpoint connection."""


def _config(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def _call_spec(spec: ToolSpec, raw: dict[str, Any], runtime: ToolRuntime, desk: str) -> str:
    """Validate and run a tool exactly as our executor does, and return the same JSON text."""
    thread = str((runtime.config.get("configurable") or {}).get("thread_id") or "")
    ctx = ToolCallContext.for_call(
        REQUESTER.user_id, thread, runtime.tool_call_id or "", resources={DESK_DB: desk}
    )
    try:
        result = spec.run(spec.args_schema.model_validate(raw), ctx)
    except ToolFailure as exc:
        result = exc.to_dict()
    return json.dumps(result, default=str)


def langchain_tools(desk: str) -> list[BaseTool]:
    """Wrap search_kb and issue_refund (the project's own functions) as LangChain tools."""

    def run_search_kb(query: str, runtime: ToolRuntime, limit: int = 3) -> str:
        return _call_spec(search_kb.SPEC, {"query": query, "limit": limit}, runtime, desk)

    def run_issue_refund(
        order_id: str, amount_usd: float, reason: str, runtime: ToolRuntime
    ) -> str:
        args = {"order_id": order_id, "amount_usd": amount_usd, "reason": reason}
        return _call_spec(issue_refund.SPEC, args, runtime, desk)

    return [
        StructuredTool.from_function(fn, name=spec.name, description=spec.description)
        for fn, spec in ((run_search_kb, search_kb.SPEC), (run_issue_refund, issue_refund.SPEC))
    ]


def middleware_stack() -> list[Any]:
    """The create_agent middleware closest to our nodes (budget, PII, retries, approval)."""
    return [
        ModelCallLimitMiddleware(run_limit=LIMIT, exit_behavior="end"),
        ToolCallLimitMiddleware(run_limit=LIMIT, exit_behavior="continue"),
        PIIMiddleware("email", strategy="redact", apply_to_input=True, apply_to_output=True),
        ModelRetryMiddleware(max_retries=3, initial_delay=1.0),
        ToolRetryMiddleware(max_retries=2, initial_delay=1.0),
        HumanInTheLoopMiddleware(
            interrupt_on={"issue_refund": {"allowed_decisions": ["approve", "edit", "reject"]}}
        ),
    ]


def _check_messages(workload: Workload, messages: list[Any], who: str) -> None:
    tools = [m for m in messages if isinstance(m, ToolMessage)]
    ok_tools = [m.name for m in tools if m.status == "success" and '"error"' not in str(m.content)]
    last = messages[-1] if messages else None
    answered = isinstance(last, AIMessage) and str(last.content).startswith(ANSWER_PREFIX)
    if ok_tools != list(workload.tool_names) or not answered:
        raise BenchError(
            f"{who} {workload.key}: tools {ok_tools} (want {list(workload.tool_names)}), "
            f"last message {str(getattr(last, 'content', last))[:120]!r}"
        )


class LangChainSystem:
    """(a) or (b): `create_agent` with the given middleware on its own checkpoint file."""

    def __init__(self, key: str, label: str, root: Path, middleware: list[Any]) -> None:
        """Seed a desk and compile the agent under `root`."""
        root.mkdir(parents=True, exist_ok=True)
        create_desk(root / "desk.sqlite")
        self.key, self.label = key, label
        self.checkpoint_path = root / "checkpoints.sqlite"
        self.checkpointer = open_checkpointer(self.checkpoint_path)
        self.agent = create_agent(
            make_model(),
            langchain_tools(str(root / "desk.sqlite")),
            system_prompt=f"{SYSTEM_PROMPT}\n\n{DATA_NOTE}",
            middleware=middleware,
            checkpointer=self.checkpointer,
        )

    def start(self, workload: Workload, thread_id: str) -> bool:
        """Invoke with the request; a `__interrupt__` key means HITL paused."""
        out = self.agent.invoke(
            {"messages": [HumanMessage(content=workload.request)]}, _config(thread_id)
        )
        return bool(out.get("__interrupt__"))

    def resume(self, thread_id: str) -> None:
        """Answer HITL's batched interrupt with one approve decision."""
        self.agent.invoke(Command(resume=APPROVE), _config(thread_id))

    def check(self, workload: Workload, thread_id: str) -> None:
        """Inspect the checkpointed messages."""
        _check_messages(
            workload, self.agent.get_state(_config(thread_id)).values.get("messages", []), self.key
        )

    def close(self) -> None:
        """Close the checkpoint connection."""
        self.checkpointer.conn.close()


class SafeAgentSystem:
    """(c): our graph through the `SafeAgent` facade, or (raw=True) through `graph.invoke` alone.

    The raw variant is a diagnostic: the difference between the two is what the facade adds
    (a `get_state` before the run to refuse paused threads, one after it to build the result).
    """

    def __init__(
        self, key: str, label: str, root: Path, *, raw: bool = False, durability: str = "exit"
    ) -> None:
        """Build services on a temp folder with a raised iteration limit and the two bench tools."""
        config = SafetyConfig(
            budget=BudgetConfig(
                iterations_limit=LIMIT
            ),  # thousands of runs: no per-user rate limit
            rate_limit=RateLimitConfig(requests_limit=RoleRequestLimits(write=None)),
            checkpoint_durability=durability,
        )
        services = build_services(
            root=root,
            model=make_model(),
            model_name="offline-planner",
            config=config,
            tools=PACK.only("search_kb", "issue_refund"),
        )
        self.key, self.label, self.raw = key, label, raw
        self.agent = SafeAgent(services)  # opens root/checkpoints.sqlite with open_checkpointer
        self.checkpoint_path = services.paths.checkpoints

    def start(self, workload: Workload, thread_id: str) -> bool:
        """Run as the requester (role write, so the refund is asked for approval, not denied)."""
        if self.raw:
            out = self.agent.graph.invoke(
                {"messages": [HumanMessage(content=workload.request)]},
                self.agent._config(thread_id),
                context=REQUESTER,
            )
            return bool(out.get("__interrupt__"))
        result = self.agent.run(
            workload.request, user_id=REQUESTER.user_id, role=REQUESTER.role, thread_id=thread_id
        )
        if result.status == "halted":
            raise BenchError(
                f"{self.key} {workload.key} halted: {result.reason_code}: {result.answer[:120]}"
            )
        return result.status == "paused"

    def resume(self, thread_id: str) -> None:
        """Approve as a different user with the admin role (requester and approver must differ)."""
        if self.raw:
            self.agent.graph.invoke(
                Command(resume=APPROVE), self.agent._config(thread_id), context=APPROVER
            )
            return
        self.agent.resume(
            thread_id, APPROVE, approver_id=APPROVER.user_id, approver_role=APPROVER.role
        )

    def check(self, workload: Workload, thread_id: str) -> None:
        """Inspect the checkpointed messages and the facade's verdict."""
        result = self.agent.result(thread_id)
        if result.status != "answered":
            raise BenchError(
                f"{self.key} {workload.key}: status {result.status} ({result.reason_code})"
            )
        _check_messages(
            workload,
            self.agent.graph.get_state(self.agent._config(thread_id)).values["messages"],
            self.key,
        )

    def close(self) -> None:
        """Close the checkpoint connection."""
        self.agent.close()


def build_systems(root: Path, *, raw: bool) -> list[System]:
    """Create (a), (b), (c) and, if asked, the raw-graph diagnostic, each in its own sub-folder."""
    systems: list[System] = [
        LangChainSystem("a", "(a) create_agent, no middleware", root / "a", []),
        LangChainSystem("b", "(b) create_agent + middleware", root / "b", middleware_stack()),
        SafeAgentSystem("c", "(c) SafeAgent (our graph)", root / "c"),
        SafeAgentSystem(
            "c_step", "(c') SafeAgent, checkpoint every step", root / "c_step", durability="async"
        ),
    ]
    if raw:
        systems.append(
            SafeAgentSystem(
                "c_raw", "(c) graph.invoke only, no facade (diagnostic)", root / "c_raw", raw=True
            )
        )
    return systems
