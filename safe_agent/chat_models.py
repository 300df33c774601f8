"""Chat models needing no network: the offline planner (the default) and a scripted model for tests.

Both implement `bind_tools` by remembering the bound tool names (the fake models in
`langchain_core` lack it), and both report `usage_metadata` so budgets work offline.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

_ORDER = re.compile(r"\borders?\s*#?\s*(\d{4,8})\b|#(\d{4,8})\b", re.I)
_AMOUNT = re.compile(r"\$\s?(\d+(?:\.\d{1,2})?)")
_CUSTOMER = re.compile(r"\b(C-\d+)\b", re.I)
_EMAIL = re.compile(r"\[\[pii:email:[0-9a-f]{8}\]\]|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")  # a token or raw


def _tokens(messages: Sequence[BaseMessage]) -> int:
    return sum(len(str(m.content)) for m in messages) // 4 + 1


def _with_usage(message: AIMessage, prompt: Sequence[BaseMessage]) -> AIMessage:
    out_tokens = (
        len(str(message.content)) + len(json.dumps(message.tool_calls, default=str))
    ) // 4 + 1
    in_tokens = _tokens(prompt)
    message.usage_metadata = {
        "input_tokens": in_tokens,
        "output_tokens": out_tokens,
        "total_tokens": in_tokens + out_tokens,
    }
    return message


class ScriptedChatModel(BaseChatModel):
    """Reply with prepared messages in order, or from a function of the prompt.

    The last reply repeats.
    """

    replies: list[AIMessage] = Field(default_factory=list)
    respond: Callable[[list[BaseMessage]], AIMessage] | None = None
    calls: list[list[BaseMessage]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:  # type: ignore[override]
        """Accept tools and return self: the script, not the tools, decides the reply."""
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.calls.append(list(messages))
        if self.respond is not None:
            reply = self.respond(list(messages))
        else:
            reply = self.replies[min(len(self.calls), len(self.replies)) - 1].model_copy(deep=True)
        if reply.usage_metadata is None:
            reply = _with_usage(reply, messages)
        return ChatResult(generations=[ChatGeneration(message=reply)])


class OfflinePlanner(BaseChatModel):
    """A deterministic planner for the support desk: enough to drive every demo scenario offline.

    It reads the newest user request, proposes the tool calls that request needs one at a time,
    and answers from the tool results. It never sees the caller's identity and decides nothing
    about safety: it only proposes, like any model.
    """

    tool_names: tuple[str, ...] = ()

    @property
    def _llm_type(self) -> str:
        return "offline-planner"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> OfflinePlanner:  # type: ignore[override]
        """Remember which tools may be proposed."""
        names = tuple(
            t["function"]["name"] if isinstance(t, dict) else getattr(t, "name", str(t))
            for t in tools
        )
        return self.model_copy(update={"tool_names": names})

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(
            generations=[ChatGeneration(message=_with_usage(self._next(messages), messages))]
        )

    def _next(self, messages: list[BaseMessage]) -> AIMessage:
        start = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1)
        request = str(messages[start].content) if start >= 0 else ""
        results = [m for m in messages[start + 1 :] if isinstance(m, ToolMessage)]
        done = [
            (c["name"], json.dumps(c["args"], sort_keys=True))
            for m in messages[start + 1 :]
            if isinstance(m, AIMessage)
            for c in m.tool_calls
        ]
        if results and results[-1].status == "error":
            return AIMessage(content=f"I could not complete that: {results[-1].content}")
        low = request.lower()
        order = next((g for m in _ORDER.finditer(request) for g in m.groups() if g), None)
        if (
            ("keep checking" in low or "until it ships" in low)
            and order
            and "get_order" in self.tool_names
        ):
            if not any(
                '"shipped"' in str(r.content) for r in results
            ):  # a model stuck polling: the loop demo
                return AIMessage(
                    content="",
                    tool_calls=[
                        {
                            "id": f"call_{len(messages)}_get_order",
                            "name": "get_order",
                            "args": {"order_id": order},
                        }
                    ],
                )
        for name, args in self._plan(request, results):
            if (name, json.dumps(args, sort_keys=True)) not in done and name in self.tool_names:
                call_id = f"call_{len(messages)}_{name}"
                return AIMessage(
                    content="", tool_calls=[{"id": call_id, "name": name, "args": args}]
                )
        return AIMessage(content=_answer(results) if results else "I don't have anything to add.")

    def _plan(self, request: str, results: list[ToolMessage]) -> list[tuple[str, dict[str, Any]]]:
        low = request.lower()
        order = next((g for m in _ORDER.finditer(request) for g in m.groups() if g), None)
        amount = _AMOUNT.search(request)
        customer = _CUSTOMER.search(request)
        email = _EMAIL.search(request)
        if "refund" in low and order and amount:
            return [
                (
                    "issue_refund",
                    {
                        "order_id": order,
                        "amount_usd": float(amount.group(1)),
                        "reason": request[:200],
                    },
                )
            ]
        if "delete" in low and customer:
            return [("delete_customer", {"customer_id": customer.group(1).upper()})]
        if ("email" in low or "send" in low) and email:
            return [
                (
                    "send_email",
                    {"to": email.group(0), "subject": "About your request", "body": request[:1000]},
                )
            ]
        if "address" in low and order and " to " in low:
            new = request[low.rindex(" to ") + 4 :].strip().rstrip(".")
            return [("update_shipping_address", {"order_id": order, "new_address": new})]
        orders = list(dict.fromkeys(g for m in _ORDER.finditer(request) for g in m.groups() if g))
        orders += [o for o in re.findall(r"\b(\d{4})\b", request) if o not in orders and orders]
        if orders:
            return [("get_order", {"order_id": o}) for o in orders]
        return [("search_kb", {"query": request[:500]})]


def _answer(results: list[ToolMessage]) -> str:
    lines = []
    for r in results:
        try:
            data = json.loads(str(r.content))
        except ValueError:
            lines.append(str(r.content)[:500])
            continue
        if isinstance(data, dict) and "tool" in data and "data" in data:  # the graph's envelope
            data = data["data"]
        lines.append(_describe(r.name or "", data if isinstance(data, dict) else {"result": data}))
    return " ".join(lines)


def _describe(tool: str, data: dict[str, Any]) -> str:
    if "error" in data:
        return f"{tool} failed: {data.get('message', data['error'])}."
    if tool == "search_kb":
        arts = data.get("articles") or []
        if not arts:
            return "I found nothing in the knowledge base about that."
        return " ".join(f"From the knowledge base, {a['title']}: {a['snippet']}" for a in arts[:2])
    if tool == "get_order":
        return (
            f"Order {data.get('order_id') or data.get('id')} is {data.get('status')} "
            f"(total ${data.get('total_usd')}). Customer: {data.get('customer_name')}, "
            f"email {data.get('customer_email')}, phone {data.get('customer_phone')}."
        )
    if tool == "issue_refund":
        return (
            f"Refund {data.get('refund_id')} of ${data.get('amount_usd')} for order "
            f"{data.get('order_id')} is issued."
        )
    if tool == "send_email":
        return (
            f"Email to {data.get('to')} is {data.get('status')} (outbox #{data.get('outbox_id')})."
        )
    return f"{tool} done: {json.dumps(data, default=str)[:300]}"
