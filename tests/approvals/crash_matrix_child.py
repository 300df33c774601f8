"""Child process of the crash matrix: run one phase of the refund story and SIGKILL itself on cue.

Usage: python crash_matrix_child.py HOME DURABILITY start THREAD
       python crash_matrix_child.py HOME DURABILITY resume THREAD (approve|edit|reject)

`start` runs the request as u-1 (write) on THREAD, a thread id the client chose, so that it can look
the thread up after a crash; `resume` answers its approval as approver-7 (admin).

With env `CRASH_AT=<where>:<when>[:<visit>]` the process kills itself with SIGKILL (no cleanup,
no finally, no checkpoint write), the way a power cut or an OOM kill ends a worker:
  <node>:entry | <node>:exit      before the node's body runs / after it returns, before LangGraph
                                  sees its update (visit N of that node in this process, default 1)
  issue_refund:entry              the tool was called, before its effect
  issue_refund:after              the tool's effect is committed to the desk, before it returns
With env `CLOCK_OFFSET_S=<s>` the services' clock runs that far ahead (the approver answers later).
The test imports `model`, `REQUEST`, `decision_payload` from here so both sides script the
same story.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

REQUEST = "Refund $25 on order 1001, it arrived broken"
REFUND = {"order_id": "1001", "amount_usd": 25.0, "reason": "arrived broken"}
EDITED_USD = 20.0


def respond(messages: list[BaseMessage]) -> AIMessage:
    """Propose the refund for a new request; once the tool has answered, relay what it said."""
    last_human = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
    told = [m for m in messages[last_human:] if isinstance(m, ToolMessage)]
    if told:
        return AIMessage(content=f"The refund tool said: {told[-1].content}")
    return AIMessage(
        content="",
        tool_calls=[
            {"id": f"call_{uuid.uuid4().hex[:12]}", "name": "issue_refund", "args": dict(REFUND)}
        ],
    )


def model() -> Any:
    """A ScriptedChatModel playing `respond`.

    Imported here: the child arms its hooks before importing the agent.
    """
    from safe_agent.chat_models import ScriptedChatModel

    return ScriptedChatModel(respond=respond)


def decision_payload(decision: str) -> dict[str, Any]:
    """The approver's answer: approve, edit the amount to $20, or reject."""
    if decision == "approve":
        return {"decisions": [{"type": "approve"}]}
    if decision == "edit":
        return {
            "decisions": [
                {
                    "type": "edit",
                    "edited_action": {
                        "name": "issue_refund",
                        "args": {**REFUND, "amount_usd": EDITED_USD},
                    },
                }
            ]
        }
    if decision == "reject":
        return {"decisions": [{"type": "reject", "message": "not this one"}]}
    raise ValueError(decision)


def _die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _parse(crash_at: str) -> tuple[str, str, int] | None:
    if not crash_at:
        return None
    where, when, *visit = crash_at.split(":")
    return where, when, int(visit[0]) if visit else 1


def _arm_nodes(target: tuple[str, str, int]) -> None:
    """Replace the node functions `graph.build` wires in with wrappers that die at the cue."""
    from safe_agent.graph import build as graph_build

    visits: Counter[str] = Counter()
    where, when, visit = target

    def wrap(node: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(
            node
        )  # keeps __name__ and the signature LangGraph inspects for runtime/config
        def hooked(*args: Any, **kwargs: Any) -> Any:
            visits[node.__name__] += 1
            hit = node.__name__ == where and visits[node.__name__] == visit
            if hit and when == "entry":
                _die()
            update = node(*args, **kwargs)  # an interrupt() raises through: that is no "exit"
            if hit and when == "exit":
                _die()
            return update

        return hooked

    names = {n.__name__ for n in graph_build.NODES}
    if where not in names:
        raise SystemExit(f"unknown node {where!r}")
    graph_build.NODES = tuple(wrap(n) for n in graph_build.NODES)


def _tools(target: tuple[str, str, int] | None) -> Any:
    from safe_agent.tools.support_desk import PACK, default_tools

    if target is None or target[0] != "issue_refund":
        return None
    real = default_tools()["issue_refund"]
    when = target[1]
    if when not in ("entry", "after"):
        raise SystemExit(f"unknown tool cue {when!r}")

    def run(args: Any, ctx: Any) -> Any:
        if when == "entry":
            _die()
        result = real.run(args, ctx)  # the refund row is committed here
        _die()
        return result

    return PACK.with_tools(dataclasses.replace(real, run=run))


def main() -> None:
    home, durability, phase, *rest = sys.argv[1:]
    target = _parse(os.environ.get("CRASH_AT", ""))
    if target is not None and target[0] != "issue_refund":
        _arm_nodes(target)
    tools = _tools(target)

    from safe_agent import SafeAgent, build_services

    sys.path.append(str(Path(__file__).parents[1]))  # tests/helpers.py, as the test process uses it
    from helpers import FAST_RETRY, make_config

    extra = {"tools": tools} if tools is not None else {}
    offset = float(os.environ.get("CLOCK_OFFSET_S", "0"))
    config = make_config(retry=FAST_RETRY, checkpoint_durability=durability)
    agent = SafeAgent(
        build_services(
            root=home, config=config, model=model(), clock=lambda: time.time() + offset, **extra
        )
    )
    if phase == "start":
        [thread] = rest
        result = agent.run(REQUEST, user_id="u-1", role="write", thread_id=thread)
    elif phase == "resume":
        thread, decision = rest
        result = agent.resume(
            thread, decision_payload(decision), approver_id="approver-7", approver_role="admin"
        )
    else:
        raise SystemExit(f"unknown phase {phase!r}")
    Path(home, "child_result.txt").write_text(f"{result.thread_id} {result.status}\n")
    agent.close()


if __name__ == "__main__":
    main()
