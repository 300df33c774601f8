"""The crash matrix (issue 10): a worker SIGKILLed at every node's entry and exit and inside the
refund tool, under each checkpoint durability, then recovered as a user would, with approve, edit
and reject.

Each case crashes a real child process (`crash_matrix_child.py`, its own session) that kills itself
at the cue, so nothing after the cue runs: no finally, no checkpoint. The test process then plays
the people, using only what the docs tell them to: an admin settles what `pending()` lists in doubt
after looking at the desk, the approver answers an approval that is (still, or again) waiting, an
operator `recover`s a thread whose run was cut off, and a user whose thread was lost asks again.
Afterwards:

1. at most one refund ever; approved or edited -> exactly one, for the approved amount, unless a
   reconcile answered "will not run"; rejected -> none;
2. after the crash and at every step of recovery, every `started` non-idempotent ledger row is
   listed by `pending()` (0 invisible in-doubt calls);
3. an approved call is never dropped silently: it ran, or the reconcile answer says it will not run;
   no step of the documented recovery is refused, and nothing is left pending;
4. audit rows exactly once: one `approval_decision` per (call, digest, outcome) from one resume, at
   most one `tool_execution` per call and one (or a `tool_reconciled`) for a call that ran, one
   `run_outcome` for the run, and no event skipped as "already written" when the row under its id
   says something else.
Last, the request completes: the thread is answered and the answer relays what happened.

The approver answers an hour after the request (`LATER_S`, on the services' clock in child and
test): approvals wait, and waiting is not working time. Children run two at a time in the
background (`crash_farm`), one crash per case (a crash before the pause is shared by the three
decisions).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import FAST_RETRY, make_config

from safe_agent import SafeAgent, build_services
from safe_agent.errors import SafeAgentError
from safe_agent.tools.spec import idempotency_key_for

CHILD = Path(__file__).with_name("crash_matrix_child.py")
_spec = importlib.util.spec_from_file_location("crash_matrix_child", CHILD)
story = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(story)  # the same scripted model, request and decisions as the child

THREAD = "t-crash-matrix"
LATER_S = 3600.0
"""The approver answers an hour after the request (on the services' clock); everything else follows
at once. Waiting for a person is not working time, so no run may halt on its 120 s deadline because
of it."""
DECISIONS = ("approve", "edit", "reject")
AMOUNT = {"approve": story.REFUND["amount_usd"], "edit": story.EDITED_USD}
_BOTH = ("entry", "exit")
START_POINTS = [
    f"{n}:{w}"
    for n in ("validate_input", "budget_check", "breaker_check", "reason", "authorize", "audit")
    for w in _BOTH
] + ["approval:entry"]  # its exit is the pause
"""Killed while running the request, before the approval pause: every node the start path visits."""
RESUME_POINTS = (
    [f"{n}:{w}" for n in ("approval", "execute_tool") for w in _BOTH]
    + ["audit:entry:1", "audit:exit:1"]
    + [
        f"{n}:{w}"
        for n in ("budget_check", "breaker_check", "reason", "validate_output")
        for w in _BOTH
    ]
    + ["audit:entry:2", "audit:exit:2", "issue_refund:entry", "issue_refund:after"]
)
"""Killed while applying the decision: every node after the pause.

Audit twice: after the call, at the end.
"""
RUNS_THE_TOOL = (
    "execute_tool",
    "issue_refund",
)  # a rejected call never gets there: no crash to test
_CLEAN_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "LANGSMITH_TRACING",
    "LANGCHAIN_TRACING_V2",
    "LANGSMITH_API_KEY",
    "SAFE_AGENT_CONFIG",
    "LANGGRAPH_AES_KEY",
    "SAFE_AGENT_API_KEY",
    "SAFE_AGENT_HOME",
    "CRASH_AT",
)


class AuditNotExactlyOnce(AssertionError):
    """Assertion 4 failed: an audit row written twice, or missing for a call that ran."""


@dataclass(frozen=True)
class Case:
    durability: str
    # "start": killed while running the request; "resume": killed while applying the decision
    phase: str
    point: str
    decision: str

    @property
    def child(self) -> tuple[str, ...]:
        """The crash this case recovers from.

        Start crashes do not depend on the decision, so share it.
        """
        return (self.durability, self.phase, self.point) + (
            (self.decision,) if self.phase == "resume" else ()
        )

    def __str__(self) -> str:
        return f"{self.durability}-{self.phase}-{self.point}-{self.decision}"


CASES = [
    Case(d, "start", p, dec) for d in ("exit", "sync") for p in START_POINTS for dec in DECISIONS
] + [
    Case(d, "resume", p, dec)
    for d in ("exit", "sync")
    for p in RESUME_POINTS
    for dec in DECISIONS
    if not (dec == "reject" and p.startswith(RUNS_THE_TOOL))
]


def _params() -> list:
    return [pytest.param(c, id=str(c)) for c in CASES]


# --- the children -------------------------------------------------------------------------------


def _child(home: Path, durability: str, args: list[str], crash_at: str | None) -> int:
    env = {k: v for k, v in os.environ.items() if k not in _CLEAN_ENV}
    env["CLOCK_OFFSET_S"] = str(LATER_S if args[0] == "resume" else 0.0)
    env["PYTHONPATH"] = os.pathsep.join([str(CHILD.parents[2]), env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep
    )
    if crash_at:
        env["CRASH_AT"] = crash_at
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(home), durability, *args],
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        out, _ = proc.communicate(timeout=90)
    finally:
        try:
            os.killpg(
                proc.pid, signal.SIGKILL
            )  # the child's session: nothing it started outlives it
        except ProcessLookupError:
            pass
        proc.wait()
    (home / "child_output.txt").write_bytes(out or b"")
    return proc.returncode


def _copy(src: Path, dst: Path) -> None:
    shutil.copytree(
        src, dst, ignore=shutil.ignore_patterns("*-shm", "child_*")
    )  # WAL kept, index rebuilt


class CrashFarm:
    """Run the selected cases' children in the background, two at a time.

    Each test waits for its own.
    """

    def __init__(self, root: Path, wanted: list[Case]) -> None:
        self.root, self.pool, self.jobs = root, ThreadPoolExecutor(max_workers=2), {}
        seeds = {
            d: self.pool.submit(self._seed, d)
            for d in dict.fromkeys(c.durability for c in wanted if c.phase == "resume")
        }
        for case in wanted:
            if case.child not in self.jobs:
                self.jobs[case.child] = self.pool.submit(
                    self._crash, case, seeds.get(case.durability)
                )

    def _seed(self, durability: str) -> tuple[Path, int]:
        home = self.root / f"seed-{durability}"
        rc = _child(home, durability, ["start", THREAD], None)
        assert rc == 0, (
            f"seeding the paused thread failed ({rc}): "
            f"{(home / 'child_output.txt').read_text()[-2000:]}"
        )
        with closing(sqlite3.connect(home / "audit.sqlite")) as db:
            return home, db.execute("SELECT max(seq) FROM audit_events").fetchone()[0]

    def _crash(self, case: Case, seed: Future | None) -> tuple[Path, int, int]:
        home = self.root / "-".join(case.child).replace(":", "_")
        if case.phase == "start":
            return home, _child(home, case.durability, ["start", THREAD], case.point), 0
        seed_home, seed_seq = seed.result()
        _copy(seed_home, home)
        return (
            home,
            _child(home, case.durability, ["resume", THREAD, case.decision], case.point),
            seed_seq,
        )

    def crashed_home(self, case: Case) -> tuple[Path, int]:
        """The home the child left when it died, and the seeded start's last audit seq (0: none)."""
        home, rc, seed_seq = self.jobs[case.child].result()
        assert rc == -signal.SIGKILL, (
            f"the child was not killed at {case.point} (exit code {rc}); the crash "
            f"point was never reached:\n{(home / 'child_output.txt').read_text()[-2000:]}"
        )
        return home, seed_seq

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)


@pytest.fixture(scope="module")
def crash_farm(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    wanted = [
        item.callspec.params["case"]
        for item in request.session.items
        if item.module is request.module
        and hasattr(item, "callspec")
        and "case" in item.callspec.params
    ]
    farm = CrashFarm(tmp_path_factory.mktemp("crash_farm"), wanted)
    yield farm
    farm.close()


# --- what people see and do -----------------------------------------------------------------------


class Clock:
    """The services' clock: real time, plus `offset` once the approver's hour has passed."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def __call__(self) -> float:
        return time.time() + self.offset


def _agent(home: Path, durability: str, clock: Clock) -> SafeAgent:
    return SafeAgent(
        build_services(
            root=home,
            model=story.model(),
            clock=clock,
            config=make_config(retry=FAST_RETRY, checkpoint_durability=durability),
        )
    )


def _refunds(agent: SafeAgent) -> list[tuple[str, float]]:
    with closing(sqlite3.connect(agent.services.paths.desk)) as db:
        return db.execute("SELECT idempotency_key, amount_usd FROM refunds ORDER BY id").fetchall()


def _assert_doubt_visible(agent: SafeAgent, when: str) -> None:
    """(2) Every started non-idempotent call is listed by `pending()` as a call to reconcile."""
    listed = {
        (p.thread_id, p.request.get("tool_call_id"))
        for p in agent.pending()
        if p.kind == "reconcile"
    }
    for row in agent.services.executions.unfinished():
        if not agent.services.tools[row.tool_name].idempotent:
            assert (row.thread_id, row.tool_call_id) in listed, (
                f"{when}: {row.tool_name} {row.key} is started "
                f"on the ledger but pending() does not list it: "
                f"{[p.to_dict() for p in agent.pending()]}"
            )


def _last_seq(agent: SafeAgent) -> int:
    rows = agent.audit(limit=1)
    return rows[-1]["seq"] if rows else 0


def _recover_as_people_would(
    agent: SafeAgent, thread: str, decision: str, clock: Clock
) -> tuple[str, list[tuple]]:
    """Play admin, approver, operator and user until the thread rests; return the thread and the
    steps, each step ending with the last audit seq after it and the answer it got."""
    steps: list[tuple] = []
    for _ in range(8):
        _assert_doubt_visible(agent, f"after steps {steps}")
        pending = agent.pending()
        doubt = next((p for p in pending if p.kind == "reconcile"), None)
        mine = next((p for p in pending if p.thread_id == thread and p.kind == "approval"), None)
        snap = agent.graph.get_state({"configurable": {"thread_id": thread}})
        try:
            if (
                doubt is not None
            ):  # the admin checks the desk for this call's refund, then says what they saw
                key = idempotency_key_for(doubt.thread_id, doubt.request["tool_call_id"])
                done = any(k == key for k, _ in _refunds(agent))
                step: tuple = ("reconcile", "done" if done else "not_done")
                r = agent.reconcile(
                    doubt.thread_id, done=done, operator_id="ops-1", operator_role="admin"
                )
            elif mine is not None:  # the approval waits (again): the approver gives the same answer
                clock.offset = LATER_S
                step = ("resume", decision)
                r = agent.resume(
                    thread,
                    story.decision_payload(decision),
                    approver_id="approver-7",
                    approver_role="admin",
                )
            elif (
                not snap.values
            ):  # the run was lost before anything was checkpointed: the user asks again
                thread = f"t-again-{uuid.uuid4().hex[:8]}"
                step = ("run_again", thread)
                r = agent.run(story.REQUEST, user_id="u-1", role="write", thread_id=thread)
            elif snap.next:  # cut off mid-run, nothing waits: the operator continues it
                step = ("recover",)
                r = agent.recover(thread, operator_id="ops-1", operator_role="admin")
            else:
                return thread, steps
        except (
            SafeAgentError
        ) as exc:  # what the person is told; they look again (asserted on later)
            steps.append(
                ("refused", *step, "error", _last_seq(agent), f"{type(exc).__name__}: {exc}")
            )
            continue
        steps.append((*step, r.status, _last_seq(agent), r.answer))
    raise AssertionError(f"the thread never came to rest: {steps}")


# --- the audit trail
# --------------------------------------------------------------------------------


def _meaning(row: dict) -> tuple:
    """What an audit row decides, without its id, time and chain fields. An answer applied again
    from the decision ledger (`approved_on_record`) means the same as the answer it re-applies."""
    facts = row.get("input") or {}
    return (
        row.get("kind"),
        row.get("tool_call_id"),
        row.get("decision"),
        row.get("reason_code"),
        row.get("approver_id"),
        str(facts.get("outcome")).removesuffix("_on_record"),
        facts.get("digest"),
    )


def _spy_on_dropped_events(agent: SafeAgent) -> list[str]:
    """Report every event the log skips as written although the row under its id says otherwise."""
    dropped: list[str] = []
    log, real = agent.services.audit, agent.services.audit.append

    def append(events: list[dict]) -> int:
        with closing(sqlite3.connect(agent.services.paths.audit)) as db:
            db.row_factory = sqlite3.Row
            for event in events:
                row = db.execute(
                    "SELECT * FROM audit_events WHERE event_id = ?", [event.get("event_id")]
                ).fetchone()
                if row is not None:
                    stored = {
                        **dict(row),
                        "input": json.loads(row["input"]) if row["input"] else None,
                    }
                    if _meaning(stored) != _meaning(event):
                        dropped.append(
                            f"{_meaning(event)} dropped: its id already holds {_meaning(stored)}"
                        )
        return real(events)

    log.append = append
    return dropped


def _segments(
    rows: list[dict], case: Case, seed_seq: int, crash_seq: int, steps: list[tuple]
) -> list[list[dict]]:
    """Split the log by who acted: the seeded start, the crashed child, then each person's action; a
    `recover` continues the invocation it found cut off, so it joins the segment before it."""
    bounds = ([seed_seq] if case.phase == "resume" else []) + [crash_seq]
    for step in steps:
        if step[0] == "recover":
            bounds[-1] = step[-2]
        else:
            bounds.append(step[-2])
    out, low = [], 0
    for high in bounds:
        out.append([r for r in rows if low < r["seq"] <= high])
        low = high
    return out


def _audit_problems(
    agent: SafeAgent,
    case: Case,
    thread: str,
    ran: set[str],
    seed_seq: int,
    crash_seq: int,
    steps: list[tuple],
    dropped: list[str],
) -> list[str]:
    rows = agent.audit()
    problems = list(dropped)
    for part in _segments(rows, case, seed_seq, crash_seq, steps):
        decisions = Counter(
            (r["tool_call_id"], (r["input"] or {}).get("digest"), (r["input"] or {}).get("outcome"))
            for r in part
            if r["kind"] == "approval_decision"
        )
        problems += [
            f"{n} approval_decision rows for call {c} digest {str(d)[:10]} "
            f"outcome {o} from one resume"
            for (c, d, o), n in decisions.items()
            if n > 1
        ]
    executions = Counter(r["tool_call_id"] for r in rows if r["kind"] == "tool_execution")
    problems += [f"{n} tool_execution rows for call {c}" for c, n in executions.items() if n > 1]
    settled_on_ledger = any(
        r["kind"] == "tool_reconciled" and (r["input"] or {}).get("target") == f"thread:{t}"
        for r in rows
        for t in {thread, THREAD}
    )
    reconciled = {r["tool_call_id"] for r in rows if r["kind"] == "tool_reconciled"}
    problems += [
        f"call {c} ran but has no tool_execution or tool_reconciled row (its rows: "
        f"{[r['kind'] for r in rows if r['tool_call_id'] == c]})"
        for c in ran
        if c not in executions and c not in reconciled and not settled_on_ledger
    ]
    outcomes = [r for r in rows if r["kind"] == "run_outcome" and r["thread_id"] == thread]
    if len(outcomes) != 1:
        problems.append(
            f"{len(outcomes)} run_outcome rows for the one run of thread {thread} "
            f"(seqs {[r['seq'] for r in outcomes]})"
        )
    return problems


# --- the matrix
# ---------------------------------------------------------------------------------------

_DID_RUN = ('"status": "issued"', '"reconciled": "done"', "reconciled as done")


@pytest.mark.slow
@pytest.mark.parametrize("case", _params())
def test_crash_matrix(case: Case, crash_farm: CrashFarm, tmp_path: Path) -> None:
    crashed, seed_seq = crash_farm.crashed_home(case)
    home, clock = tmp_path / "home", Clock(LATER_S if case.phase == "resume" else 0.0)
    _copy(crashed, home)
    with _agent(home, case.durability, clock) as agent:
        dropped = _spy_on_dropped_events(agent)
        crash_seq = _last_seq(agent)
        assert len(_refunds(agent)) <= 1, f"(1) duplicate effect at the crash: {_refunds(agent)}"
        _assert_doubt_visible(agent, "after the crash")
        thread, steps = _recover_as_people_would(agent, THREAD, case.decision, clock)
        refunds, answers = _refunds(agent), " | ".join(str(s[-1]) for s in steps)
        said_not_run = any(
            s[:2] == ("reconcile", "not_done") and "will not run" in s[-1] for s in steps
        )

        assert len(refunds) <= 1, f"(1) duplicate effects {refunds}; steps {steps}"
        if case.decision == "reject":
            assert refunds == [], f"(1) a rejected refund was paid: {refunds}; steps {steps}"
        elif said_not_run:  # (3) not run, and the reconcile answer says so
            assert refunds == [], (
                f"(1) the answer says it will not run, yet {refunds}; steps {steps}"
            )
        else:  # (1)+(3) an approved call ran exactly once, for the approved amount
            assert [a for _, a in refunds] == [AMOUNT[case.decision]], (
                f"(1/3) approved ({case.decision}) but refunds are {refunds}; steps {steps}"
            )
        assert not agent.pending() and not agent.services.executions.unfinished(), (
            f"still open after {steps}"
        )
        refused = [s for s in steps if s[0] == "refused"]
        assert not refused, f"the documented recovery was refused: {refused}; steps {steps}"

        keys = {k for k, _ in refunds}
        ran = {
            r.tool_call_id
            for t in {thread, THREAD}
            for r in agent.services.executions.for_thread(t)
            if r.key in keys
        }
        assert len(ran) == len(refunds), (
            f"a refund no ledger row of the story accounts for: {refunds}"
        )
        assert agent.services.audit.verify().ok, agent.services.audit.verify()
        problems = _audit_problems(agent, case, thread, ran, seed_seq, crash_seq, steps, dropped)

        # The user's request completes and the answer relays what happened (after (1)-(3), so a case
        # that fails here has already shown it kept its effects right).
        final = agent.result(thread)
        also = f"; (4) would also say: {problems}" if problems else ""
        assert final.status == "answered", (
            f"not answered: {final.status} {final.reason_code}; steps {steps}{also}"
        )
        if case.decision == "reject":
            assert "Not run" in answers, f"the user was not told the refund did not run: {steps}"
        elif not said_not_run:
            assert any(s in answers for s in _DID_RUN), (
                f"(3) the answer does not say it ran: {steps}"
            )
        if problems:
            raise AuditNotExactlyOnce(f"(4) {'; '.join(problems)}; steps {[s[:-1] for s in steps]}")
