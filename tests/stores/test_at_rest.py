"""Data at rest (issue 12, item 3): checkpoints encrypted by default, keys rotatable, files private.

Each test plays someone who can read the data folder: they grep the raw bytes of every file
(WAL included) for a customer's e-mail that a tool result put into the conversation, or list
the modes. A folder-reader must find no conversation and no file they can open.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.sqlite import SqliteSaver

from safe_agent import SafeAgent, build_services
from safe_agent.cli import cli
from safe_agent.stores._sqlite import close_all
from safe_agent.stores.principals import PrincipalDirectory

EMAIL = b"ada.lovelace@example.com"  # in get_order's result, unless a vault keeps it out
MARKER = b"blue geranium"  # in the user's own message, which every checkpoint keeps
ASK = "Who is the contact for order 1001? The parcel is under the blue geranium."
APPROVE = {"decisions": [{"type": "approve"}]}
_KEY_ENVS = ("LANGGRAPH_AES_KEY", "SAFE_AGENT_DATA_KEY", "SAFE_AGENT_DATA_KEY_FILE")


@pytest.fixture(autouse=True)
def _no_key_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No key from the developer's shell, and the permissive umask most machines have."""
    for name in _KEY_ENVS:
        monkeypatch.delenv(name, raising=False)
    old = os.umask(0o022)
    yield
    os.umask(old)


def load_keyring(home: Path):
    from safe_agent.checkpoints import load_keyring as load

    return load(home)


def key_usage(path: Path) -> dict[str, int]:
    from safe_agent.cli_keys import key_usage as usage

    return usage(path)


def _key_error() -> type[Exception]:
    from safe_agent.checkpoints import CheckpointKeyError

    return CheckpointKeyError


def _raw(folder: Path, pattern: str = "*checkpoints.sqlite*") -> bytes:
    return b"".join(p.read_bytes() for p in folder.glob(pattern) if p.is_file())


def _leaks(folder: Path) -> list[bytes]:
    return [value for value in (EMAIL, MARKER) if value in _raw(folder)]


def _modes(root: Path) -> dict[str, int]:
    found = {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in root.rglob("*")}
    return {".": stat.S_IMODE(root.stat().st_mode), **found}


def _not_private(root: Path) -> dict[str, str]:
    return {
        name: oct(mode)
        for name, mode in _modes(root).items()
        if mode != (0o700 if (root / name).is_dir() else 0o600)
    }


def _admin(home: Path, role: str = "admin", pid: str = "ops-1") -> str:
    directory = PrincipalDirectory(home / "principals.sqlite")
    if directory.is_empty():
        return directory.bootstrap(pid, now=0.0)[1]
    return directory.add(pid, role=role, now=0.0)[1]


def _keys(home: Path, *args: str, api_key: str | None = None) -> tuple[int, str]:
    env = {"SAFE_AGENT_HOME": str(home), "SAFE_AGENT_API_KEY": api_key or ""}
    out = CliRunner().invoke(cli, ["keys", *args], env=env)
    return out.exit_code, out.output


def test_checkpoints_are_encrypted_by_default_and_read_by_a_new_process(tmp_path: Path) -> None:
    home = tmp_path / "var"
    with SafeAgent.open(home) as agent:
        first = agent.run(ASK, user_id="u-1", role="read")
        paused = agent.run("Please refund $5 on order 1001", user_id="u-1", role="write")
        assert _leaks(home) == []  # WAL included, while the writer is open
    assert first.status == "answered" and paused.status == "paused"
    assert _leaks(home) == []
    key_file = home / "checkpoint.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    usage = key_usage(home / "checkpoints.sqlite")
    assert set(usage) == {load_keyring(home).current}  # every blob, none plain
    with SafeAgent.open(home) as agent:
        assert agent.read_thread(first.thread_id, user_id="u-1", role="read").answer == first.answer
        done = agent.resume(paused.thread_id, APPROVE, approver_id="a", approver_role="admin")
    assert done.status == "answered"


def test_every_data_file_is_private_after_a_run_whatever_the_umask(tmp_path: Path) -> None:
    home = tmp_path / "var"
    with SafeAgent.open(home) as agent:
        agent.run(ASK, user_id="u-1", role="read")
        PrincipalDirectory(home / "principals.sqlite").bootstrap("ops-1", now=0.0)
        assert any(p.name.endswith("-wal") for p in home.iterdir())  # sidecars are checked too
        assert _not_private(home) == {}
    assert _not_private(home) == {}
    assert {
        "checkpoints.sqlite",
        "audit.sqlite",
        "safety.sqlite",
        "spend.sqlite",
        "desk.sqlite",
        "principals.sqlite",
        "checkpoint.key",
        "audit.key",
    } <= set(os.listdir(home))


def test_an_existing_world_readable_folder_is_made_private(tmp_path: Path) -> None:
    """A folder made before this change (0755 folder, 0644 files) is tightened when opened."""
    home = tmp_path / "var"
    with SafeAgent.open(home) as agent:
        agent.run(ASK, user_id="u-1", role="read")
    close_all()  # a new process: no cached connection
    for path in [home, *home.iterdir()]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    with SafeAgent.open(home) as agent:
        agent.run(ASK, user_id="u-1", role="read")
    assert _not_private(home) == {}


@pytest.mark.slow
def test_cli_demo_leaves_a_private_home_with_no_readable_conversation(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["demo", "--home", str(tmp_path / "home")])
    assert result.exit_code == 0, result.output
    demo = tmp_path / "home" / "demo"
    assert _not_private(tmp_path / "home") == {}
    assert EMAIL not in _raw(demo) and b"Analytical Way" not in _raw(demo)
    assert b"arrived damaged" not in _raw(demo)  # the users' own words
    assert EMAIL not in _raw(demo, "audit.sqlite*")


def _plain_thread(home: Path) -> tuple[str, str]:
    """Write a thread the way the code before encryption did: a SqliteSaver with no serde."""
    services = build_services(root=home)
    conn = sqlite3.connect(str(home / "checkpoints.sqlite"), check_same_thread=False)
    with SafeAgent(services, SqliteSaver(conn)) as agent:
        answered = agent.run(ASK, user_id="u-1", role="read")
        paused = agent.run("Please refund $5 on order 1001", user_id="u-1", role="write")
    assert MARKER in _raw(home) and not (home / "checkpoint.key").exists()
    return answered.thread_id, paused.thread_id


def test_plain_checkpoints_stay_readable_and_reencrypt_removes_them(tmp_path: Path) -> None:
    home = tmp_path / "var"
    answered, paused = _plain_thread(home)
    with SafeAgent.open(home) as agent:
        assert "Ada Lovelace" in agent.read_thread(answered, user_id="u-1", role="read").answer
        done = agent.resume(paused, APPROVE, approver_id="a", approver_role="admin")
        assert done.status == "answered"
    assert "plain" in key_usage(home / "checkpoints.sqlite")
    code, out = _keys(home, "rotate", "--reencrypt", "--json", api_key=_admin(home))
    assert code == 0, out
    assert _leaks(home) == []  # rewritten and vacuumed: no plain page left behind
    assert "plain" not in key_usage(home / "checkpoints.sqlite")
    with SafeAgent.open(home) as agent:
        assert "Ada Lovelace" in agent.read_thread(answered, user_id="u-1", role="read").answer


def test_a_lost_key_is_a_one_line_error_never_a_new_key(tmp_path: Path) -> None:
    home = tmp_path / "var"
    with SafeAgent.open(home) as agent:
        agent.run(ASK, user_id="u-1", role="read")
    api_key = _admin(home)
    (home / "checkpoint.key").unlink()
    with pytest.raises(_key_error(), match="key is missing but checkpoints.sqlite is encrypted"):
        SafeAgent.open(home)
    assert not (home / "checkpoint.key").exists()
    env = {"SAFE_AGENT_HOME": str(home), "SAFE_AGENT_API_KEY": api_key}
    out = CliRunner().invoke(cli, ["pending"], env=env)
    assert out.exit_code == 1 and out.output.count("\n") == 1, out.output
    assert out.output.startswith("Error: checkpoint_key: ")


def test_a_wrong_key_names_the_key_the_thread_needs(tmp_path: Path) -> None:
    home = tmp_path / "var"
    with SafeAgent.open(home) as agent:
        thread = agent.run(ASK, user_id="u-1", role="read").thread_id
    needed = load_keyring(home).current
    (home / "checkpoint.key").write_text("x" * 64 + "\n")  # someone else's key
    with SafeAgent.open(home) as agent, pytest.raises(_key_error(), match=f"key {needed}, which"):
        agent.read_thread(thread, user_id="u-1", role="read")


def test_operator_keys_from_env_or_a_secret_file_create_no_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "var"
    monkeypatch.setenv("SAFE_AGENT_DATA_KEY", "e" * 40)
    with SafeAgent.open(home) as agent:
        env_thread = agent.run(ASK, user_id="u-1", role="read").thread_id
    assert not (home / "checkpoint.key").exists() and _leaks(home) == []
    secret = tmp_path / "secrets" / "ring"
    secret.parent.mkdir()
    secret.write_text("f" * 40 + "\n" + "e" * 40 + "\n")  # a new current key, the old one kept
    monkeypatch.delenv("SAFE_AGENT_DATA_KEY")
    monkeypatch.setenv("SAFE_AGENT_DATA_KEY_FILE", str(secret))
    with SafeAgent.open(home) as agent:
        assert agent.read_thread(env_thread, user_id="u-1", role="read").status == "answered"
        agent.run(ASK, user_id="u-1", role="read")
    assert not (home / "checkpoint.key").exists()
    assert set(key_usage(home / "checkpoints.sqlite")) == set(load_keyring(home).keys)
    code, out = _keys(home, "status", "--json")
    assert code == 0 and json.loads(out)["source"] == f"$SAFE_AGENT_DATA_KEY_FILE {secret}"


def test_rotate_is_admin_only_keeps_old_threads_and_is_audited(tmp_path: Path) -> None:
    home = tmp_path / "var"
    with SafeAgent.open(home) as agent:
        old = agent.run(ASK, user_id="u-1", role="read").thread_id
    admin, writer = _admin(home), _admin(home, "write", "u-9")
    before = load_keyring(home).current
    code, out = _keys(home, "rotate", api_key=writer)
    assert code == 1 and "needs the admin role" in out and load_keyring(home).current == before
    code, out = _keys(home, "rotate", "--json", api_key=admin)
    assert code == 0, out
    new = json.loads(out)["current"]
    assert new != before and json.loads(out)["keys"] == [new, before]
    with SafeAgent.open(home) as agent:  # old threads readable, new writes under the new key
        assert agent.read_thread(old, user_id="u-1", role="read").status == "answered"
        agent.run(ASK, user_id="u-1", role="read")
        rows = [r for r in agent.audit() if r.get("kind") == "checkpoint_key_rotate"]
    assert set(key_usage(home / "checkpoints.sqlite")) == {before, new}
    assert len(rows) == 1 and rows[0]["user_id"] == "ops-1" and new in rows[0]["detail"]
    lines = (home / "checkpoint.key").read_text().splitlines()
    ring = [line.encode() for line in lines if not line.startswith("#")]
    audit = _raw(home, "audit.sqlite*")
    assert len(ring) == 2 and not any(secret in audit for secret in ring)  # key ids only
    code, out = _keys(home, "rotate", "--reencrypt", "--json", api_key=admin)
    latest = json.loads(out)["current"]
    assert set(key_usage(home / "checkpoints.sqlite")) == {latest}
    assert stat.S_IMODE((home / "checkpoint.key").stat().st_mode) == 0o600


def test_a_running_process_reads_blobs_reencrypted_by_a_rotation(tmp_path: Path) -> None:
    home = tmp_path / "var"
    with SafeAgent.open(home) as agent:
        thread = agent.run(ASK, user_id="u-1", role="read").thread_id
        code, out = _keys(home, "rotate", "--reencrypt", api_key=_admin(home))
        assert code == 0, out
        again = agent.read_thread(thread, user_id="u-1", role="read")  # it re-reads the ring
        assert again.status == "answered"


def test_langgraph_aes_key_keeps_langgraphs_format_and_moves_into_the_ring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "var"
    monkeypatch.setenv("LANGGRAPH_AES_KEY", "k" * 32)
    with SafeAgent.open(home) as agent:
        thread = agent.run(ASK, user_id="u-1", role="read").thread_id
    assert set(key_usage(home / "checkpoints.sqlite")) == {"aes"}
    assert not (home / "checkpoint.key").exists()
    stock = SqliteSaver(
        sqlite3.connect(str(home / "checkpoints.sqlite")),
        serde=EncryptedSerializer.from_pycryptodome_aes(key=b"k" * 32),
    )
    assert stock.get_tuple({"configurable": {"thread_id": thread}}) is not None  # LangGraph's own
    code, out = _keys(home, "rotate", "--json", api_key=_admin(home))
    assert code == 0 and "LANGGRAPH_AES_KEY is still set" in out, out
    monkeypatch.delenv("LANGGRAPH_AES_KEY")
    with SafeAgent.open(home) as agent:
        assert agent.read_thread(thread, user_id="u-1", role="read").status == "answered"
        agent.run(ASK, user_id="u-1", role="read")
    assert set(key_usage(home / "checkpoints.sqlite")) == {"aes", load_keyring(home).current}


def test_rotating_a_key_from_the_environment_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "var"
    monkeypatch.setenv("SAFE_AGENT_DATA_KEY", "e" * 40)
    api_key = _admin(home)
    code, out = _keys(home, "rotate", api_key=api_key)
    assert code == 1 and "come from $SAFE_AGENT_DATA_KEY" in out and out.count("\n") == 1
