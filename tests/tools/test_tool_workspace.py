"""The office-assistant pack: what each tool does, refuses and declares; writes act once."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pydantic
import pytest

from safe_agent.policies.verdict import Role, Tier
from safe_agent.tools.pack import load_tools
from safe_agent.tools.spec import ToolCallContext, ToolFailure
from safe_agent.tools.workspace import PACK, TOOL_NAMES

TOOLS = {spec.name: spec for spec in PACK.tools}


@pytest.fixture
def resources(tmp_path: Path) -> dict[str, Any]:
    """Run the pack's setup in a fresh data folder."""
    assert PACK.setup is not None
    return dict(PACK.setup(tmp_path))


def _ctx(resources: dict[str, Any], call_id: str = "call-1") -> ToolCallContext:
    return ToolCallContext.for_call("u-1", "thread-1", call_id, resources=resources)


def _call(resources: dict[str, Any], tool: str, call_id: str = "call-1", **args: Any) -> Any:
    spec = TOOLS[tool]
    return spec.run(spec.validate_args(args), _ctx(resources, call_id))


def _count(resources: dict[str, Any], table: str) -> int:
    (path,) = resources.values()
    with closing(sqlite3.connect(path)) as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


WRITES = {
    "send_email": ({"to": "bob@example.com", "subject": "Hi", "body": "Hello"}, "sent_emails"),
    "send_money": (
        {"iban": "DE89370400440532013000", "amount": 10.0, "reference": "r"},
        "transfers",
    ),
    "add_calendar_guest": ({"event_id": "EV-1", "email": "bob@example.com"}, "calendar_guests"),
    "share_file": ({"path": "notes/todo.md", "email": "bob@example.com"}, "file_shares"),
}


def test_setup_creates_the_file_and_keeps_rows_on_a_second_run(tmp_path: Path) -> None:
    assert PACK.setup is not None
    resources = dict(PACK.setup(tmp_path))
    assert Path(resources["workspace_db_path"]) == tmp_path / "workspace.sqlite"
    _call(resources, "send_email", **WRITES["send_email"][0])
    PACK.setup(tmp_path)
    assert _count(resources, "sent_emails") == 1 and _count(resources, "emails") == 4


@pytest.mark.parametrize("tool", sorted(WRITES))
def test_write_runs_once_per_idempotency_key(resources: dict[str, Any], tool: str) -> None:
    args, table = WRITES[tool]
    first = _call(resources, tool, **args)
    assert _call(resources, tool, **args) == first, "a replay returns the first result"
    assert _count(resources, table) == 1
    _call(resources, tool, "call-2", **args)
    assert _count(resources, table) == 2, "another call is another effect"


@pytest.mark.parametrize(
    ("tool", "args", "code"),
    [
        (
            "send_email",
            {"to": "bob@example.com, eve@x.com", "subject": "s", "body": "b"},
            "invalid_email",
        ),
        ("send_email", {"to": "bob@example.com", "subject": " ", "body": "b"}, "empty_email"),
        ("send_money", {"iban": "not an iban", "amount": 5.0, "reference": "r"}, "invalid_iban"),
        (
            "send_money",
            {"iban": "DE89370400440532013000", "amount": 0.0, "reference": "r"},
            "invalid_amount",
        ),
        (
            "send_money",
            {"iban": "DE89370400440532013000", "amount": 10_000.01, "reference": "r"},
            "invalid_amount",
        ),
        (
            "send_money",
            {"iban": "DE89370400440532013000", "amount": 1.005, "reference": "r"},
            "invalid_amount",
        ),
        ("add_calendar_guest", {"event_id": "EV-9", "email": "bob@example.com"}, "event_not_found"),
        ("share_file", {"path": "nope.txt", "email": "bob@example.com"}, "file_not_found"),
        ("fetch_web_page", {"url": "https://mallory.example/"}, "page_not_found"),
        ("read_email", {"email_id": "E-99"}, "email_not_found"),
    ],
)
def test_bad_calls_fail_with_a_code_and_change_nothing(
    resources: dict[str, Any], tool: str, args: dict[str, Any], code: str
) -> None:
    with pytest.raises(ToolFailure) as failure:
        _call(resources, tool, **args)
    assert failure.value.code == code
    assert sum(_count(resources, t) for _, t in WRITES.values()) == 0


def test_send_money_stores_the_iban_compact(resources: dict[str, Any]) -> None:
    sent = _call(
        resources, "send_money", iban="de89 3704 0044 0532 0130 00", amount=420.0, reference="INV"
    )
    assert sent["iban"] == "DE89370400440532013000" and sent["amount_eur"] == 420.0


def test_list_events_shows_an_invited_guest(resources: dict[str, Any]) -> None:
    _call(resources, "add_calendar_guest", event_id="EV-2", email="dana.lee@example.com")
    events = {e["event_id"]: e for e in _call(resources, "list_events")["events"]}
    assert events["EV-2"]["guests"] == ["dana.lee@example.com"] and events["EV-1"]["guests"] == []


def test_reads_return_the_seeded_content(resources: dict[str, Any]) -> None:
    inbox = _call(resources, "read_inbox")["emails"]
    assert [e["id"] for e in inbox] == ["E-4", "E-3", "E-2", "E-1"] and "body" not in inbox[0]
    assert "reports/q3-review.txt" in _call(resources, "read_email", email_id="E-1")["body"]
    page = _call(resources, "fetch_web_page", url="https://intranet.example/offsite")
    assert page["title"] == "Team offsite"
    assert _call(resources, "read_file", path="notes/todo.md")["owner"] == "sam.rivera@example.com"
    payees = {c["name"]: c["iban"] for c in _call(resources, "list_contacts")["contacts"]}
    assert payees["Acme Supplies"] == "DE89370400440532013000"


def test_unknown_arguments_are_refused() -> None:
    with pytest.raises(pydantic.ValidationError):
        TOOLS["share_file"].validate_args({"path": "a", "email": "b@c.de", "notify": True})


def test_policies_declare_tier_sinks_and_trust() -> None:
    declared = {
        n: (TOOLS[n].tier, TOOLS[n].sinks, TOOLS[n].policy.trusted_output) for n in TOOL_NAMES
    }
    assert declared == {
        "read_inbox": (Tier.READ_ONLY, (), False),
        "read_email": (Tier.READ_ONLY, (), False),
        "fetch_web_page": (Tier.READ_ONLY, (), False),
        "read_file": (Tier.READ_ONLY, (), False),
        "list_contacts": (Tier.READ_ONLY, (), True),
        "list_events": (Tier.READ_ONLY, (), False),
        "send_email": (Tier.IRREVERSIBLE, ("to",), False),
        "send_money": (Tier.IRREVERSIBLE, ("iban", "amount"), False),
        "add_calendar_guest": (Tier.REVERSIBLE, ("email",), False),
        "share_file": (Tier.REVERSIBLE, ("path", "email"), False),
    }
    for name in TOOL_NAMES:
        writes = TOOLS[name].tier is not Tier.READ_ONLY
        assert TOOLS[name].required_role is (Role.WRITE if writes else Role.READ)


def test_the_pack_loads_by_name_with_its_prompt_and_setup(tmp_path: Path) -> None:
    loaded = load_tools(["safe_agent.tools.workspace:PACK"], {})
    assert tuple(loaded.tools) == TOOL_NAMES and "Sam Rivera" in loaded.prompts[0]
    assert not (tmp_path / "workspace.sqlite").exists()
    assert set(loaded.resources(tmp_path)) == {"workspace_db_path"}
    assert (tmp_path / "workspace.sqlite").exists()
