"""Invariant 7 at rest: checkpoints (which must keep the conversation) are always encrypted."""

from __future__ import annotations

from pathlib import Path

import pytest

from safe_agent import SafeAgent, build_services
from safe_agent.errors import ConfigError

EMAIL = b"ada.lovelace@example.com"
KEY = "k" * 32


def _raw(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def test_checkpoints_encrypted_with_key_and_readable_by_a_fresh_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANGGRAPH_AES_KEY", KEY)
    with SafeAgent(build_services(root=tmp_path)) as agent:
        first = agent.run("Who is the contact for order 1001?", user_id="u-1", role="read")
        paused = agent.run("Please refund $5 on order 1001", user_id="u-1", role="write")
    assert first.status == "answered" and paused.status == "paused"
    assert EMAIL not in _raw(tmp_path / "checkpoints.sqlite")
    with SafeAgent(build_services(root=tmp_path)) as agent:
        assert agent.read_thread(first.thread_id, user_id="u-1", role="read").answer == first.answer
        done = agent.resume(
            paused.thread_id,
            {"decisions": [{"type": "approve"}]},
            approver_id="a",
            approver_role="admin",
        )
    assert done.status == "answered"


def test_checkpoints_without_any_key_are_encrypted_under_a_new_key(tmp_path: Path) -> None:
    """The default: encrypted too (docs/privacy.md); the audit log is redacted regardless."""
    with SafeAgent(build_services(root=tmp_path)) as agent:
        agent.run("Who is the contact for order 1001? Ring twice.", user_id="u-1", role="read")
    assert EMAIL not in _raw(tmp_path / "checkpoints.sqlite")
    assert b"Ring twice" not in _raw(tmp_path / "checkpoints.sqlite")  # the user's own words
    assert EMAIL not in _raw(tmp_path / "audit.sqlite")
    assert (tmp_path / "checkpoint.key").stat().st_mode & 0o777 == 0o600


def test_checkpoint_key_of_wrong_length_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANGGRAPH_AES_KEY", "short")
    with pytest.raises(ConfigError, match="16, 24 or 32 bytes"):
        SafeAgent(build_services(root=tmp_path))
