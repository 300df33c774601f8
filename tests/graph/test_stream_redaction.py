"""No stream mode and no checkpoint carries a final answer before validate_output judged it.

Issue 12, item 1, in process: the compiled graph streamed with every stream mode LangGraph has,
each event JSON-dumped whole and searched for the raw values the model put in its answer; then
the thread's checkpoint history and every file of the data folder. Before the fix the `reason`
update (updates, values, debug, tasks, checkpoints), the model's tokens (messages) and every
checkpoint after `reason` carried the raw e-mail, phone, card number and API key; only the later
`validate_output` update was redacted.

Tool messages (item 2) follow the display policy: the desk's e-mail and phone of a customer a
tool looked up reach the client as vault tokens, never raw, in any mode.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import answer, tool_call
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGenerationChunk

from safe_agent.chat_models import ScriptedChatModel
from safe_agent.tools.support_desk import PACK

EMAIL = "jane.doe@contoso.com"
PHONE = "+1 415-555-0199"
CARD = "4111 1111 1111 1111"
API_KEY = "sk-proj-9fQ2xLm7Rt4Vb8Nc3Kd6Hs1Jp5Wz0Ya"
RAW = {
    "email": EMAIL,
    "phone": PHONE,
    "card": CARD,
    "card digits": CARD.replace(" ", ""),
    "api_key": API_KEY,
}
ANSWER = f"Write to {EMAIL} or call {PHONE}. Card on file: {CARD}. Your key: {API_KEY}."
DESK_RAW = {"desk email": "ada.lovelace@example.com", "desk phone": "555-0100"}
"""Customer C-100 of order 1001, as get_order returns them (tools/_seed.py)."""

MODES = ["values", "updates", "messages", "custom", "debug", "tasks", "checkpoints", "tools"]
CALLER = {"user_id": "u-stream", "role": "read"}


def _leaks(text: str, raw: dict[str, str]) -> list[str]:
    return [name for name, value in raw.items() if value in text]


def _stream(agent: Any, thread_id: str, message: str) -> list[tuple[Any, ...]]:
    config = {"configurable": {"thread_id": thread_id}}
    return list(
        agent.graph.stream(
            {"messages": [HumanMessage(message)]}, config, context=CALLER, stream_mode=MODES
        )
    )


def _dump(value: Any) -> str:
    return json.dumps(value, default=str)


def _leaking_events(events: list[tuple[Any, ...]], raw: dict[str, str]) -> list[str]:
    """Each event that shows a raw value, as `mode: kinds (excerpt)`."""
    found = []
    for mode, chunk in events:
        text = _dump(chunk)
        if hits := _leaks(text, raw):
            found.append(f"{mode}: {hits} ({text[:160]}...)")
    return found


def _history(agent: Any, thread_id: str) -> str:
    return _dump(
        [snap for snap in agent.graph.get_state_history({"configurable": {"thread_id": thread_id}})]
    )


def _data_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_no_stream_mode_or_checkpoint_carries_the_unjudged_answer(
    make_agent, tmp_path: Path
) -> None:
    agent = make_agent(model=ScriptedChatModel(replies=[answer(ANSWER)]))
    events = _stream(agent, "t-answer", "What do you have on file for me?")

    modes = {mode for mode, _ in events}
    assert {"values", "updates", "messages", "debug", "tasks", "checkpoints"} <= modes, modes
    assert not _leaking_events(events, RAW), "\n".join(_leaking_events(events, RAW))
    assert not _leaks(_history(agent, "t-answer"), RAW), "the history holds the raw answer"
    files = {
        name: _leaks(blob.decode("latin-1"), RAW)
        for name, blob in _data_files(tmp_path / "var").items()
    }
    assert not {n: hits for n, hits in files.items() if hits}, files

    config = {"configurable": {"thread_id": "t-answer"}}
    final = agent.graph.get_state(config).values["messages"][-1]
    assert isinstance(final, AIMessage) and "[REDACTED_EMAIL]" in final.content
    assert "[REDACTED_CARD]" in final.content and "[REDACTED_API_KEY]" in final.content
    # validate_output still decides and audits the answer: the kinds reason replaced are recorded
    [verdict] = [r for r in agent.audit(thread_id="t-answer") if r["kind"] == "output_verdict"]
    assert verdict["reason_code"] == "output_redacted", verdict
    for kind in ("api_key", "card", "email", "phone"):
        assert kind in _dump(verdict), verdict


class TokenStreamingModel(ScriptedChatModel):
    """A scripted model that streams its reply word by word, as a provider does for a client."""

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        reply = self._generate(messages, stop, run_manager, **kwargs).generations[0].message
        for word in str(reply.content).split(" "):
            yield ChatGenerationChunk(message=AIMessageChunk(content=word + " "))  # a callback each
        last = AIMessageChunk(content="", usage_metadata=reply.usage_metadata)
        yield ChatGenerationChunk(message=last)


def test_the_model_tokens_are_not_streamed(make_agent) -> None:
    """messages mode shows the AIMessage reason wrote, once, never the model's own stream."""
    model = TokenStreamingModel(replies=[answer(ANSWER)])
    agent = make_agent(model=model)
    events = _stream(agent, "t-tokens", "What do you have on file for me?")

    assert model.calls, "the model was not called"
    shown = [
        chunk[0] for mode, chunk in events if mode == "messages" and isinstance(chunk[0], AIMessage)
    ]
    assert not [m for m in shown if isinstance(m, AIMessageChunk)], "the tokens were streamed"
    assert len(shown) == 1 and shown[0].response_metadata.get("safe_agent_redaction"), shown
    assert not _leaks(_dump(shown[0].content), RAW) and "[REDACTED_CARD]" in shown[0].content


def test_tool_messages_stream_without_raw_contact_data(make_agent, tmp_path: Path) -> None:
    """Item 2: the desk's e-mail and phone in a tool result reach no client raw, in any mode."""
    model = ScriptedChatModel(
        replies=[tool_call("get_order", order_id="1001"), answer("Order 1001 is processing.")]
    )
    agent = make_agent(model=model, tools=PACK.only("get_order"))
    events = _stream(agent, "t-tool", "Where is order 1001?")

    tool_events = [
        (m, c) for m, c in events if '"tool_call_id"' in _dump(c) or "ToolMessage" in _dump(c)
    ]
    assert tool_events, "no event carried the tool's result"
    assert not _leaking_events(events, DESK_RAW), "\n".join(_leaking_events(events, DESK_RAW))
    assert not _leaks(_history(agent, "t-tool"), DESK_RAW), "the history holds raw contact data"


def test_a_forged_answer_is_still_judged_by_validate_output(make_agent) -> None:
    """A message that did not come through reason (a client's update_state) is redacted there."""
    agent = make_agent(model=ScriptedChatModel(replies=[answer("Hello.")]))
    config = {"configurable": {"thread_id": "t-forged"}}
    agent.graph.invoke({"messages": [HumanMessage("hi")]}, config, context=CALLER)
    agent.graph.update_state(config, {"messages": [AIMessage(ANSWER)]}, as_node="reason")
    events = list(agent.graph.stream(None, config, context=CALLER, stream_mode=["updates"]))

    final = agent.graph.get_state(config).values["messages"][-1]
    assert not _leaks(_dump(final.content), RAW), final.content
    assert any("validate_output" in _dump(e) for e in events), events
    verdicts = [r for r in agent.audit(thread_id="t-forged") if r["kind"] == "output_verdict"]
    assert verdicts[-1]["reason_code"] == "output_redacted", verdicts


@pytest.mark.parametrize("content", [ANSWER, [{"type": "text", "text": ANSWER}]])
def test_judge_reply_redacts_text_and_notes_kinds(content: Any) -> None:
    from safe_agent.nodes.validate_output import judge_reply, judged_kinds

    reply = AIMessage(
        content=content,
        id="m-1",
        tool_calls=[{"id": "c-1", "name": "send_email", "args": {"to": EMAIL}}],
    )
    judged = judge_reply(reply)
    assert not _leaks(_dump(judged.content), RAW), judged.content
    assert judged.id == "m-1"
    assert judged.tool_calls == reply.tool_calls  # arguments are not the answer
    assert judged_kinds(judged) == ["api_key", "card", "email", "phone"]
