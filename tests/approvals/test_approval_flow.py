"""Approvals as a security object, end to end: quorum, groups, expiry, sweep, digest-bound edits."""

from __future__ import annotations

import sqlite3

import pytest
from helpers import FAST_RETRY, answer, make_config, tool_call

from safe_agent.chat_models import ScriptedChatModel
from safe_agent.errors import Forbidden

APPROVE = {"decisions": [{"type": "approve"}]}
POLICY = {
    "version": "2",
    "groups": {"finance": ["fin-1", "fin-2"]},
    "rules": [
        {
            "id": "big-refund",
            "tools": ["issue_refund"],
            "when": [{"arg": "amount_usd", "op": "gt", "value": 50}],
            "approver_groups": ["finance"],
            "quorum": 2,
            "ttl_s": 600,
        },
        {"id": "irreversible", "tiers": ["irreversible"], "ttl_s": 600},
        {"id": "destructive", "tiers": ["destructive"], "approver_role": "admin"},
    ],
}


def _refunds(agent) -> list[float]:
    with sqlite3.connect(agent.services.paths.desk) as conn:
        return [r[0] for r in conn.execute("select amount_usd from refunds")]


@pytest.fixture
def clock() -> list[float]:
    return [1_000_000.0]


@pytest.fixture
def refund_agent(make_agent, clock):
    def factory(amount: float):
        model = ScriptedChatModel(
            replies=[
                tool_call("issue_refund", order_id="1001", amount_usd=amount, reason="r"),
                answer("done"),
            ]
        )
        agent = make_agent(
            model=model,
            clock=lambda: clock[0],
            config=make_config(retry=FAST_RETRY, approval=POLICY),
        )
        return agent, model, agent.run("refund", user_id="u-1", role="write")

    return factory


def test_quorum_two_stays_paused_after_one_approval(refund_agent) -> None:
    agent, _, paused = refund_agent(80.0)
    assert paused.approval["rule_id"] == "big-refund" and paused.approval["quorum"] == 2
    outsider = agent.resume(paused.thread_id, APPROVE, approver_id="boss", approver_role="admin")
    assert (outsider.status, outsider.reason_code) == ("paused", "approver_not_in_group")
    first = agent.resume(paused.thread_id, APPROVE, approver_id="fin-1", approver_role="write")
    assert (
        first.status == "paused"
        and first.approval["approvals"] == ["fin-1"]
        and _refunds(agent) == []
    )
    twice = agent.resume(paused.thread_id, APPROVE, approver_id="fin-1", approver_role="write")
    assert twice.reason_code == "duplicate_approver" and _refunds(agent) == []
    second = agent.resume(paused.thread_id, APPROVE, approver_id="fin-2", approver_role="write")
    assert second.status == "answered" and _refunds(agent) == [80.0]


def test_expired_request_is_rejected_and_model_told(refund_agent, clock) -> None:
    agent, model, paused = refund_agent(20.0)
    assert agent.pending()[0].time_left_s == 600
    clock[0] += 601
    assert agent.pending()[0].time_left_s < 0
    result = agent.resume(paused.thread_id, APPROVE, approver_id="a-1", approver_role="admin")
    assert result.status == "answered" and _refunds(agent) == []
    assert "expired" in model.calls[-1][-1].content
    kinds = [r["kind"] for r in agent.audit(thread_id=paused.thread_id)]
    assert "approval_expired" in kinds


def test_sweep_expires_only_stale_requests(refund_agent, clock) -> None:
    agent, _, stale = refund_agent(20.0)
    clock[0] += 601
    _, _, fresh = refund_agent(20.0)  # same files, a fresh scripted model
    assert agent.sweep() == [stale.thread_id]
    assert agent.pending_for(stale.thread_id) is None
    assert agent.pending_for(fresh.thread_id) is not None


def test_edit_beyond_order_total_refused_then_valid_edit_runs_with_both_digests(
    refund_agent,
) -> None:
    agent, _, paused = refund_agent(20.0)
    digest = paused.approval["action_digest"]
    too_much = {
        "decisions": [
            {
                "type": "edit",
                "edited_action": {
                    "name": "issue_refund",
                    "args": {"order_id": "1001", "amount_usd": 20000.0, "reason": "r"},
                },
            }
        ]
    }
    refused = agent.resume(paused.thread_id, too_much, approver_id="a-1", approver_role="admin")
    assert refused.status == "paused" and _refunds(agent) == []
    smaller = {
        "decisions": [
            {
                "type": "edit",
                "action_digest": digest,
                "edited_action": {
                    "name": "issue_refund",
                    "args": {"order_id": "1001", "amount_usd": 12.5, "reason": "partial"},
                },
            }
        ]
    }
    done = agent.resume(paused.thread_id, smaller, approver_id="a-1", approver_role="admin")
    assert done.status == "answered" and _refunds(agent) == [12.5]
    row = [r for r in agent.audit(thread_id=paused.thread_id) if r["kind"] == "approval_decision"][
        -1
    ]
    assert row["input"]["request_digest"] == digest and row["input"]["digest"] != digest
    execution = next(
        r for r in agent.audit(thread_id=paused.thread_id) if r["kind"] == "tool_execution"
    )
    assert execution["input"]["digest"] == row["input"]["digest"]


def test_edit_into_a_quorum_rule_counts_as_one_approval_only(refund_agent) -> None:
    agent, _, paused = refund_agent(20.0)
    bigger = {
        "decisions": [
            {
                "type": "edit",
                "edited_action": {
                    "name": "issue_refund",
                    "args": {"order_id": "1001", "amount_usd": 60.0, "reason": "r"},
                },
            }
        ]
    }
    step = agent.resume(paused.thread_id, bigger, approver_id="fin-1", approver_role="write")
    assert step.status == "paused" and step.approval["rule_id"] == "big-refund"
    assert (
        step.approval["action_requests"][0]["args"]["amount_usd"] == 60.0 and _refunds(agent) == []
    )
    done = agent.resume(paused.thread_id, APPROVE, approver_id="fin-2", approver_role="write")
    assert done.status == "answered" and _refunds(agent) == [60.0]


def test_decision_bound_to_digest_of_another_action_is_refused(refund_agent) -> None:
    agent, _, paused = refund_agent(20.0)
    wrong = {"decisions": [{"type": "approve", "action_digest": "f" * 64}]}
    result = agent.resume(paused.thread_id, wrong, approver_id="a-1", approver_role="admin")
    assert (result.status, result.reason_code) == ("paused", "digest_mismatch") and _refunds(
        agent
    ) == []


def test_other_user_cannot_continue_a_thread_but_admin_can(make_agent) -> None:
    agent = make_agent(model=ScriptedChatModel(replies=[answer("hi")]))
    first = agent.run("hello", user_id="u-1", role="write")
    with pytest.raises(Forbidden):
        agent.run("what did u-1 ask?", user_id="u-2", role="write", thread_id=first.thread_id)
    assert (
        agent.run("audit check", user_id="admin-1", role="admin", thread_id=first.thread_id).status
        == "answered"
    )


def test_thread_owner_enforced_inside_the_graph_for_direct_callers(make_agent) -> None:
    from langchain_core.messages import HumanMessage

    model = ScriptedChatModel(replies=[answer("hi")])
    agent = make_agent(model=model)
    first = agent.run("hello", user_id="u-1", role="write")
    config = {"configurable": {"thread_id": first.thread_id}}
    agent.graph.invoke(
        {"messages": [HumanMessage("leak it")]}, config, context={"user_id": "u-2", "role": "write"}
    )
    values = agent.graph.get_state(config).values
    assert (
        values["halt"]["reason_code"] == "thread_forbidden"
        and values["principal"]["user_id"] == "u-1"
    )
    assert len(model.calls) == 1


def test_read_thread_owner_admin_and_pending_approver_only(refund_agent) -> None:
    agent, _, paused = refund_agent(20.0)
    assert agent.read_thread(paused.thread_id, user_id="u-1", role="write").status == "paused"
    assert agent.read_thread(paused.thread_id, user_id="boss", role="admin").status == "paused"
    assert (
        agent.read_thread(paused.thread_id, user_id="peer", role="write").approval["rule_id"]
        == "irreversible"
    )
    with pytest.raises(Forbidden):
        agent.read_thread(paused.thread_id, user_id="nosy", role="read")
    agent.resume(paused.thread_id, APPROVE, approver_id="peer", approver_role="write")
    with pytest.raises(Forbidden):
        agent.read_thread(paused.thread_id, user_id="peer", role="write")


@pytest.mark.parametrize("durability", ["exit", "sync"])
def test_pending_lists_exactly_the_paused_threads(make_agent, durability: str) -> None:
    def respond(messages):
        text = str(messages[-1].content)
        if messages[-1].type == "tool" or "hello" in text:
            return answer("done")
        return tool_call("issue_refund", order_id="1001", amount_usd=1.0, reason="r")

    agent = make_agent(
        model=ScriptedChatModel(respond=respond),
        config=make_config(retry=FAST_RETRY, checkpoint_durability=durability),
    )
    answered = [agent.run("hello", user_id="u-1", role="read").thread_id for _ in range(3)]
    paused = [agent.run("refund", user_id="u-1", role="write").thread_id for _ in range(3)]
    agent.resume(paused[0], APPROVE, approver_id="a", approver_role="admin")
    agent.resume(
        paused[1], APPROVE, approver_id="u-1", approver_role="admin"
    )  # refused: paused again
    assert sorted(p.thread_id for p in agent.pending()) == sorted(paused[1:])
    assert not set(answered) & {p.thread_id for p in agent.pending()}
