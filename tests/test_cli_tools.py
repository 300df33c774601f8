"""`safe-agent tools`: what the config loads, and under which policy, before anything runs."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from safe_agent.cli import cli

USER_PACK = '''
from safe_agent.tools import ToolPack, ToolPolicy, tool_from_function


def lookup_invoice(invoice_id: str) -> dict:
    """Return an invoice."""
    return {"invoice_id": invoice_id}


def close_account(account_id: str, reason: str) -> dict:
    """Close a customer account."""
    return {"closed": account_id}


PACK = ToolPack(
    name="billing",
    tools=(
        tool_from_function(lookup_invoice, policy=ToolPolicy(tier="read_only", required_role="read",
                                                             idempotent=True, trusted_output=True)),
        tool_from_function(close_account),
    ),
)
'''


def _config(tmp_path: Path, extra: str = "") -> Path:
    pack = tmp_path / "billing_pack.py"
    pack.write_text(USER_PACK)
    config = tmp_path / "ops.toml"
    config.write_text(f'[tools]\nload = ["{pack}:PACK"]\n{extra}')
    return config


def _tools(env: dict[str, str]) -> list[dict]:
    out = CliRunner().invoke(cli, ["tools", "--json"], env=env)
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)


def test_cli_tools_lists_the_demo_desk_by_default(tmp_path: Path) -> None:
    names = [t["name"] for t in _tools({"SAFE_AGENT_HOME": str(tmp_path / "home")})]
    assert names[:2] == ["search_kb", "get_order"] and "delete_customer" in names
    assert not (tmp_path / "home").exists()  # listing creates nothing, not even the desk


def test_cli_tools_follows_the_config_to_a_user_pack(tmp_path: Path) -> None:
    rows = {t["name"]: t for t in _tools({"SAFE_AGENT_CONFIG": str(_config(tmp_path))})}
    assert sorted(rows) == ["close_account", "lookup_invoice"]
    lookup, close = rows["lookup_invoice"], rows["close_account"]
    assert (lookup["tier"], lookup["required_role"], lookup["policy_from"]) == (
        "read_only",
        "read",
        "code",
    )
    assert (lookup["trusted_output"], lookup["idempotent"]) == (True, True)
    assert close == {
        "name": "close_account",
        "tier": "irreversible",
        "required_role": "write",
        "sinks": ["account_id", "reason"],
        "trusted_output": False,
        "trusted_fields": [],
        "untrusted_sinks": "approve",
        "idempotent": False,
        "timeout_s": 10.0,
        "policy_from": "default",
        "description": "Close a customer account.",
    }


def test_cli_tools_shows_the_operators_policy(tmp_path: Path) -> None:
    extra = '[tools.policies.close_account]\ntier = "destructive"\nrequired_role = "admin"\n'
    env = {"SAFE_AGENT_CONFIG": str(_config(tmp_path, extra))}
    close = next(t for t in _tools(env) if t["name"] == "close_account")
    assert (close["tier"], close["required_role"], close["policy_from"]) == (
        "destructive",
        "admin",
        "config",
    )
    human = CliRunner().invoke(cli, ["tools"], env=env).stdout
    line = next(x for x in human.splitlines() if x.startswith("close_account"))
    assert "destructive" in line and "role=admin" in line and "policy=config" in line


def test_cli_tools_bad_entry_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[tools]\nload = ["no_such_module_xyz:PACK"]\n')
    out = CliRunner().invoke(cli, ["tools"], env={"SAFE_AGENT_CONFIG": str(config)})
    assert out.exit_code == 1
    assert out.output.strip().splitlines() == [
        "Error: config_error: tool entry 'no_such_module_xyz:PACK': cannot import: "
        "No module named 'no_such_module_xyz'"
    ]
