"""What the budget tests share, importable by spawned processes as `tests.budget.workers`.

A run here costs a known amount: the scripted model is priced at $0 input and $100 per million
output tokens, the output allowance is 500 tokens (a $0.05 reservation per call), and each reply
reports 495 output tokens ($0.0495 settled). A run is a tool call then an answer: about $0.10.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolMessage

from safe_agent.chat_models import ScriptedChatModel
from safe_agent.facade import SafeAgent
from safe_agent.nodes._budget import FINISH_NOTE
from safe_agent.policies.config import SafetyConfig
from safe_agent.settings import build_services

MODEL = "budget-test-model"
CALL_RESERVED_USD = 0.05
CALL_SETTLED_USD = 0.0495
NO_LOOP_CHECKS = {"repeated_call_limit": None, "oscillation_limit": None, "no_progress_limit": None}


def priced_config(
    *,
    rate_limit: dict[str, Any] | None = None,
    input_per_mtok: float = 0.0,
    tools: dict[str, Any] | None = None,
    **budget: Any,
) -> SafetyConfig:
    """Return a config whose test model has a fixed price; `budget` fields override `[budget]`."""
    base = SafetyConfig().model_dump()
    base["pricing"]["models"][MODEL] = {"input_per_mtok": input_per_mtok, "output_per_mtok": 100.0}
    base["tools"].update(tools or {})
    base["budget"].update({"max_output_tokens": 500, **budget})
    base["retry"].update({"base_delay_s": 0.0, "max_jitter_s": 0.0})
    if rate_limit is not None:
        base["rate_limit"].update(rate_limit)
    return SafetyConfig.model_validate(base)


def _reply(message: AIMessage) -> AIMessage:
    message.usage_metadata = {"input_tokens": 10, "output_tokens": 495, "total_tokens": 505}
    return message


def tool_then_answer(messages: list[BaseMessage]) -> AIMessage:
    """Search once, then answer; answer at once when the run is steered to finish."""
    if isinstance(messages[-1], ToolMessage) or any(
        isinstance(m, SystemMessage) and m.content == FINISH_NOTE for m in messages
    ):
        return _reply(AIMessage(content="Shipping takes 3-5 business days."))
    return _reply(
        AIMessage(
            content="",
            tool_calls=[
                {
                    "id": f"call_{len(messages)}",
                    "name": "search_kb",
                    "args": {"query": "shipping time"},
                }
            ],
        )
    )


def open_agent(root: str, config: SafetyConfig, **services: Any) -> SafeAgent:
    """Open an agent on `root` with the priced scripted model (no sleeping between retries)."""
    services.setdefault("model", ScriptedChatModel(respond=tool_then_answer))
    services.setdefault("sleep", lambda s: None)
    return SafeAgent(build_services(root=root, config=config, model_name=MODEL, **services))


def run_batch(
    root: str, config_json: str, user_ids: list[str], role: str = "read"
) -> list[dict[str, Any]]:
    """Run one request per user id, in a process of its own; return each result as a dict."""
    with open_agent(root, SafetyConfig.model_validate_json(config_json)) as agent:
        return [
            agent.run("How long does shipping take?", user_id=user, role=role).to_dict()
            for user in user_ids
        ]
