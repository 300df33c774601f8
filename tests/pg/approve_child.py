"""Child process: approve a paused thread from another process, on the backend the environment
names ($SAFE_AGENT_HOME, $SAFE_AGENT_DATABASE_URL), and print the result as JSON.

Usage: python approve_child.py THREAD_ID
"""

from __future__ import annotations

import json
import sys

from langchain_core.messages import AIMessage

from safe_agent import SafeAgent
from safe_agent.chat_models import ScriptedChatModel


def main() -> None:
    thread_id = sys.argv[1]
    model = ScriptedChatModel(replies=[AIMessage(content="refund issued from the child")])
    with SafeAgent.open(model=model) as agent:
        done = agent.resume(
            thread_id,
            {"decisions": [{"type": "approve"}]},
            approver_id="approver-7",
            approver_role="admin",
        )
        print(
            json.dumps(
                {
                    "status": done.status,
                    "answer": done.answer,
                    "saver": type(agent.checkpointer).__name__,
                }
            )
        )


if __name__ == "__main__":
    main()
