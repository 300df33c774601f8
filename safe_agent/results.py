"""What the facade returns: a run's outcome and a pending approval, as typed, JSON-ready records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.messages import AIMessage


@dataclass(frozen=True)
class RunResult:
    """How a run or resume ended: answered, halted (with why), or paused at an approval."""

    thread_id: str
    status: Literal["answered", "halted", "paused"]
    answer: str
    reason_code: str
    cost_usd: float
    iterations: int
    approval: dict[str, Any] | None = None
    interrupt_id: str | None = None
    warnings: list[str] = field(default_factory=list)
    """Soft-limit warnings of the run (a budget past its soft ratio; the model was asked to
    finish)."""
    service_level: str | None = None
    """Which ladder level served the run's latest model turn: primary, cheap, fallback, read_only,
    or unavailable (no model could serve); None if no model was called."""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict (what `--json` prints)."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class PendingApproval:
    """A paused thread: an approval (what, by whom, time left) or an in-doubt call to reconcile."""

    thread_id: str
    interrupt_id: str
    request: dict[str, Any] = field(default_factory=dict)
    time_left_s: float | None = None

    @property
    def kind(self) -> str:
        """Return "approval" or "reconcile"."""
        return str(self.request.get("kind", "approval"))

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict."""
        return {
            "thread_id": self.thread_id,
            "interrupt_id": self.interrupt_id,
            "time_left_s": self.time_left_s,
            **self.request,
        }


def _run_warnings(values: dict[str, Any]) -> list[str]:
    """Return the latest run's soft-limit warnings (none if that run never reached budget_check)."""
    same_run = (values.get("run_clock") or {}).get("run_id") == values.get("run_id")
    return list(values.get("warnings") or []) if same_run else []


def describe(thread_id: str, values: dict[str, Any], interrupts: list[Any]) -> RunResult:
    """Turn a thread's state values (and pending interrupts) into a RunResult."""
    # `.text`: a provider's content blocks (Anthropic: text beside tool_use) read as their text
    # only.
    last_ai = next(
        (m for m in reversed(values.get("messages", [])) if isinstance(m, AIMessage) and m.text),
        None,
    )
    common = {
        "thread_id": thread_id,
        "cost_usd": values.get("cost_usd", 0.0),
        "warnings": _run_warnings(values),
        "iterations": values.get("iterations", 0),
        "answer": last_ai.text if last_ai else "",
        "service_level": values.get("service_level"),
    }
    if interrupts:
        intr = interrupts[0]
        refusal = (intr.value or {}).get("last_refusal") or ""
        return RunResult(
            status="paused",
            reason_code=refusal.split(":")[0] if refusal else "approval_required",
            approval=intr.value,
            interrupt_id=intr.id,
            **{**common, "answer": f"decision refused, still paused: {refusal}" if refusal else ""},
        )
    halt = values.get("halt") or {}
    status = "halted" if values.get("outcome") == "halted" else "answered"
    return RunResult(status=status, reason_code=halt.get("reason_code", "ok"), **common)
