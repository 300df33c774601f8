"""How the nodes use the PII vault: tokenize what comes in; reveal values only to the running tool.

The model, the graph state, its streams and checkpoints carry `[[pii:<kind>:<tag>]]` tokens; the
values stay in `services.vault`, keyed by the thread (`scope`). These places touch it:

- validate_input tokenizes each new human message (`protect_input`) and execute_tool each tool
  result before it becomes a ToolMessage (`protect_result`), per `[input.pii]`;
- authorize validates a call on its real values (a schema that wants an e-mail address must see
  one, and so must an approval rule on the recipient's domain) but keeps the tokens in what it
  records and in the digest (`reveal_args`, then `concealed`);
- an approver's edit is judged the same way (`judge_on_values`);
- settle gives the tool the real values right before it runs (`reveal_args`). A token this
  thread never issued (another thread's, or made up) fails the call: the literal token is never
  sent to an e-mail or payment system.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from langchain_core.runnables import RunnableConfig

from safe_agent.graph.services import Services
from safe_agent.graph.state import State
from safe_agent.nodes._common import thread_id_of
from safe_agent.policies.approval import EditDecision, action_digest
from safe_agent.policies.approval_decision import ApprovalOutcome, PendingAction
from safe_agent.policies.pii import actions_for, detect, placeholder
from safe_agent.policies.pii_config import PiiConfig
from safe_agent.policies.verdict import ReasonCode, Verdict, deny
from safe_agent.stores.vault import Protected, UnknownToken, Vault


def pii_scope(state: State, config: RunnableConfig | None, run_id: str | None = None) -> str:
    """The vault scope of this run: its thread, or (no checkpointer) its run."""
    return thread_id_of(config) or run_id or str(state.get("run_id") or "")


ENTRY_PII = "safe_agent_input_pii"
"""The `additional_kwargs` key under which an entry point (the facade, the server's auth handler)
records what `[input.pii]` did to a message before the graph saw it: kinds, actions and counts,
never values. validate_input audits it and refuses a message whose entry summary says "block"."""


def protect_input(services: Services, scope: str, text: str) -> Protected:
    """Apply `[input.pii]` to one user message; without a vault, "tokenize" redacts."""
    return protect_text(services.vault, services.config.input.pii, scope, text)


def protect_text(vault: Vault | None, config: PiiConfig, scope: str, text: str) -> Protected:
    """`protect_input` for callers without `Services` (the server's auth handler)."""
    if vault is not None:
        return vault.protect_text(scope, text, config)
    found = detect(text)
    actions = ["redact" if a == "tokenize" else a for a in actions_for(found.findings, config)]
    shown = [
        f.value if a in ("allow", "block") else placeholder(f.kind)
        for f, a in zip(found.findings, actions, strict=True)
    ]
    return Protected(found.fill(shown), found.findings, tuple(actions))


def protect_result(services: Services, scope: str, result: Any) -> Any:
    """A tool result as the model may see it: values tokenized (or redacted) per `[input.pii]`."""
    if services.vault is None or not services.config.input.pii.tool_output:
        return result
    return services.vault.protect_value(scope, result, services.config.input.pii).value


def _unknown(token: str) -> Verdict:
    return deny(
        ReasonCode.UNKNOWN_PII_TOKEN,
        f"the arguments hold a stand-in token this thread never issued ({token[:40]}); use "
        "the token the conversation shows for that value",
        "vault.token",
    )


def reveal_args(services: Services, scope: str, args: Any) -> tuple[Any, dict[str, str]] | Verdict:
    """The arguments with this thread's tokens replaced by their values (and the tokens used), or
    a deny naming the first token the thread never issued."""
    if services.vault is None:
        return args, {}
    try:
        return services.vault.reveal_value(scope, args)
    except UnknownToken as exc:
        return _unknown(str(exc))


def concealed(services: Services, scope: str, verdict: Verdict, used: dict[str, str]) -> Verdict:
    """Authorize's verdict with the validated arguments tokenized again (state, the digest)."""
    if services.vault is None or "args" not in verdict.data:
        return verdict
    data = {**verdict.data, "args": services.vault.conceal_value(scope, verdict.data["args"], used)}
    return Verdict(verdict.decision, verdict.reason_code, verdict.detail, verdict.policy_id, data)


def judge_on_values(
    services: Services,
    scope: str,
    decision: Any,
    pending: PendingAction,
    judge: Callable[[Any], ApprovalOutcome],
) -> ApprovalOutcome:
    """Judge an approver's edit as authorize judges a call: on the real values behind its tokens
    (which the approver may keep), recorded with the tokens and bound to their digest."""
    if not isinstance(decision, EditDecision) or services.vault is None:
        return judge(decision)
    revealed = reveal_args(services, scope, decision.edited_action.args)
    if isinstance(revealed, Verdict):
        return ApprovalOutcome(
            "refused", revealed, pending.args, pending.digest, pending.rule_id, pending.approvals
        )
    action = decision.edited_action.model_copy(update={"args": revealed[0]})
    outcome = judge(decision.model_copy(update={"edited_action": action}))
    if outcome.outcome not in ("approved", "pending") or outcome.digest == pending.digest:
        return outcome
    args = services.vault.conceal_value(scope, outcome.args, revealed[1])
    digest = action_digest(
        tool_name=pending.tool_name,
        args=args,
        thread_id=pending.thread_id,
        tool_call_id=pending.tool_call_id,
        policy_version=services.config.approval.version,
    )
    return replace(outcome, args=args, digest=digest)
