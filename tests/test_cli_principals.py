"""`safe-agent principals`: keys are printed once, never audited, and every change is audited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from safe_agent.cli import cli
from safe_agent.settings import data_paths
from safe_agent.stores.principals import PrincipalDirectory


@pytest.fixture(autouse=True)
def _no_ambient_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAFE_AGENT_API_KEY", raising=False)


def _run(*args: str, key: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env={"SAFE_AGENT_API_KEY": key})
    return result.exit_code, result.stdout, result.stderr


def _bootstrap() -> str:
    code, out, err = _run("principals", "bootstrap", "Ops-1", "--json")
    assert code == 0, err
    return json.loads(out)["api_key"]


def _audit_rows(admin_key: str) -> list[dict]:
    code, out, err = _run("audit", "--limit", "1000", "--json", key=admin_key)
    assert code == 0, err
    return [r for r in json.loads(out) if r["node"] == "operator"]


def _home_bytes() -> bytes:
    return b"".join(p.read_bytes() for p in data_paths().root.rglob("*") if p.is_file())


def test_principals_bootstrap_creates_the_first_admin_without_a_credential() -> None:
    code, out, err = _run("principals", "bootstrap", "Ops-1", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert (data["id"], data["role"], data["status"]) == ("ops-1", "admin", "active")
    assert data["api_key"].startswith(f"sa_{data['key_id']}_")
    assert PrincipalDirectory(data_paths().principals).authenticate(data["api_key"]).id == "ops-1"


def test_principals_bootstrap_is_refused_once_the_directory_has_anyone() -> None:
    admin = _bootstrap()
    for key in (None, admin):
        code, out, err = _run("principals", "bootstrap", "mallory", "--json", key=key)
        assert code == 1 and "directory_not_empty" in err and len(err.strip().splitlines()) == 1
    assert [r.id for r in PrincipalDirectory(data_paths().principals).list()] == ["ops-1"]


def test_principals_add_prints_the_key_once_and_it_works() -> None:
    admin = _bootstrap()
    code, out, err = _run(
        "principals",
        "add",
        "Approver-7",
        "--role",
        "write",
        "--tenant",
        "acme",
        "--group",
        "Finance",
        "--group",
        "ops",
        "--json",
        key=admin,
    )
    assert code == 0, err
    data = json.loads(out)
    assert {k: data[k] for k in ("id", "role", "tenant", "groups")} == {
        "id": "approver-7",
        "role": "write",
        "tenant": "acme",
        "groups": ["finance", "ops"],
    }
    code, out, _ = _run("run", "What is the refund policy?", "--json", key=data["api_key"])
    assert code == 0 and json.loads(out)["status"] == "answered"


def test_principals_list_shows_no_key_material() -> None:
    admin = _bootstrap()
    _, out, _ = _run("principals", "add", "u-1", "--role", "read", "--json", key=admin)
    user_key = json.loads(out)["api_key"]
    for fmt in ([], ["--json"]):
        code, out, err = _run("principals", "list", *fmt, key=admin)
        assert code == 0, err
        for key in (admin, user_key):
            assert key.split("_", 2)[2] not in out
    listed = json.loads(_run("principals", "list", "--json", key=admin)[1])
    assert [p["id"] for p in listed] == ["ops-1", "u-1"]
    assert all(
        set(p) == {"id", "role", "tenant", "groups", "status", "created_at", "key_id"}
        for p in listed
    )


def test_principals_revoke_stops_the_key_at_once() -> None:
    admin = _bootstrap()
    _, out, _ = _run("principals", "add", "u-1", "--role", "write", "--json", key=admin)
    user_key = json.loads(out)["api_key"]
    code, out, err = _run("principals", "revoke", "U-1", "--json", key=admin)
    assert code == 0, err
    assert (json.loads(out)["revoked"], json.loads(out)["status"]) == (True, "revoked")
    code, _, err = _run("run", "hi", key=user_key)
    assert code == 1 and "unauthenticated" in err
    code, out, _ = _run("principals", "revoke", "u-1", "--json", key=admin)
    assert code == 0 and json.loads(out)["revoked"] is False


def test_principals_rotate_replaces_the_key() -> None:
    admin = _bootstrap()
    _, out, _ = _run("principals", "add", "u-1", "--role", "read", "--json", key=admin)
    old = json.loads(out)["api_key"]
    code, out, err = _run("principals", "rotate", "u-1", "--json", key=admin)
    assert code == 0, err
    new = json.loads(out)["api_key"]
    assert new != old
    assert _run("run", "hi", key=old)[0] == 1
    assert _run("run", "How long does shipping take?", key=new)[0] == 0


def test_principals_every_change_is_audited_without_a_key() -> None:
    admin = _bootstrap()
    _, out, _ = _run("principals", "add", "u-1", "--role", "read", "--json", key=admin)
    issued = [admin, json.loads(out)["api_key"]]
    _, out, _ = _run("principals", "rotate", "u-1", "--json", key=admin)
    issued.append(json.loads(out)["api_key"])
    assert _run("principals", "revoke", "u-1", key=admin)[0] == 0
    rows = _audit_rows(admin)
    assert [(r["kind"], r["user_id"], r["input"]["target"]) for r in rows] == [
        ("principal_bootstrap", "ops-1", "ops-1"),
        ("principal_add", "ops-1", "u-1"),
        ("principal_rotate", "ops-1", "u-1"),
        ("principal_revoke", "ops-1", "u-1"),
    ]
    raw = _home_bytes()
    for key in issued:
        assert key.split("_", 2)[2].encode() not in raw


@pytest.mark.parametrize(
    "args, needle",
    [
        (["principals", "revoke", "nobody"], "no_such_principal"),
        (["principals", "rotate", "nobody"], "no_such_principal"),
        (["principals", "add", "has space", "--role", "read"], "invalid_identity"),
        (["principals", "add", "OPS-1", "--role", "read"], "principal_exists"),
        (["principals", "add", "u-2", "--role", "read", "--group", "a b"], "invalid_identity"),
    ],
    ids=["revoke-unknown", "rotate-unknown", "bad-id", "duplicate", "bad-group"],
)
def test_principals_refusals_are_one_line(args: list[str], needle: str) -> None:
    admin = _bootstrap()
    code, out, err = _run(*args, key=admin)
    assert code == 1 and f"Error: {needle}:" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in out + err


def test_principals_add_refuses_an_unknown_role() -> None:
    admin = _bootstrap()
    code, _, err = _run("principals", "add", "u-2", "--role", "root", key=admin)
    assert code == 1 and "Invalid value for '--role'" in err  # usage: one line, exit 1


def test_principals_key_file_authenticates_admin(tmp_path: Path) -> None:
    key_file = tmp_path / "ops.key"
    key_file.write_text(_bootstrap() + "\n")
    code, out, err = _run("principals", "list", "--key-file", str(key_file), "--json")
    assert code == 0 and [p["id"] for p in json.loads(out)] == ["ops-1"], err


def test_principals_group_help_has_an_example() -> None:
    group = cli.commands["principals"]
    assert "Example:" in (group.help or "")
    for name, command in group.commands.items():
        assert command.help and "Example:" in command.help, name
