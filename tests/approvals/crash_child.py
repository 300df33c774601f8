"""Child process for the crash tests: approve a paused call, start the tool, and hang until killed.

Usage: python crash_child.py ROOT THREAD_ID MARKER_FILE (before|after) (exit|sync|async)
  before: hang after the ledger says "started" but before the side effect
  after:  perform the side effect, then hang (the graph never checkpoints the result)
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

from safe_agent import SafeAgent, build_services
from safe_agent.chat_models import ScriptedChatModel
from safe_agent.policies.config import SafetyConfig
from safe_agent.tools.support_desk import PACK, default_tools


def main() -> None:
    root, thread_id, marker, when, durability = (
        sys.argv[1],
        sys.argv[2],
        Path(sys.argv[3]),
        sys.argv[4],
        sys.argv[5],
    )
    tools = default_tools()
    real = tools["issue_refund"]

    def hanging_refund(args, ctx):  # noqa: ANN001, ANN202
        if when == "after":
            real.run(args, ctx)
        marker.write_text(ctx.idempotency_key)
        time.sleep(120)
        raise SystemExit("should have been killed")

    slow = real.policy.model_copy(update={"timeout_s": 300})
    hanging = dataclasses.replace(real, run=hanging_refund, policy=slow)
    agent = SafeAgent(
        build_services(
            root=root,
            tools=PACK.with_tools(hanging),
            model=ScriptedChatModel(replies=[]),
            config=SafetyConfig(checkpoint_durability=durability),
        )
    )
    agent.resume(
        thread_id,
        {"decisions": [{"type": "approve"}]},
        approver_id="approver-7",
        approver_role="admin",
    )


if __name__ == "__main__":
    main()
