"""Open the facade's checkpoint file, encrypted at rest when the operator supplies a key.

Checkpoints hold the conversation: user messages and tool results, which can carry personal data
the model needs (an address to ship to, an e-mail to write to), so they cannot be redacted. With
`LANGGRAPH_AES_KEY` set (16, 24 or 32 bytes), every checkpoint is AES-EAX encrypted by LangGraph's
`EncryptedSerializer`; without it, checkpoints are plain and the docs say so.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.sqlite import SqliteSaver

from safe_agent.errors import ConfigError
from stores._sqlite import BUSY_TIMEOUT_MS

KEY_ENV = "LANGGRAPH_AES_KEY"


def checkpoint_serde() -> SerializerProtocol | None:
    """Return an encrypting serializer when a key is configured, else None (LangGraph's default)."""
    key = os.environ.get(KEY_ENV)
    if not key:
        return None
    if len(key.encode()) not in (16, 24, 32):
        raise ConfigError(f"{KEY_ENV} must be 16, 24 or 32 bytes long, not {len(key.encode())}")
    return EncryptedSerializer.from_pycryptodome_aes(key=key.encode())


def open_checkpointer(path: str | Path) -> SqliteSaver:
    """Open the one SqliteSaver this process uses for a checkpoint file (WAL, busy timeout)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode=WAL")
    saver = SqliteSaver(conn, serde=checkpoint_serde())
    saver.setup()
    return saver


PAUSED_THREADS_SQL = """
SELECT c.thread_id FROM checkpoints AS c
JOIN (SELECT thread_id, MAX(checkpoint_id) AS last FROM checkpoints WHERE checkpoint_ns = '' GROUP BY thread_id) AS m
  ON c.thread_id = m.thread_id AND c.checkpoint_id = m.last AND c.checkpoint_ns = ''
WHERE EXISTS (SELECT 1 FROM writes AS w WHERE w.thread_id = c.thread_id AND w.checkpoint_ns = ''
              AND w.checkpoint_id = c.checkpoint_id AND w.channel = '__interrupt__')
ORDER BY c.thread_id
"""
"""Threads whose latest checkpoint carries an interrupt write: the paused ones (each confirmed by get_state)."""
