"""Encrypt checkpoints at rest when the operator supplies a key.

Checkpoints hold the conversation: user messages and tool results, which can carry personal data
the model needs (an address to ship to, an e-mail to write to), so they cannot be redacted. With
`LANGGRAPH_AES_KEY` set (16, 24 or 32 bytes), every checkpoint is AES-EAX encrypted by LangGraph's
`EncryptedSerializer`; without it, checkpoints are plain and the docs say so.
"""

from __future__ import annotations

import os

from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer

from safe_agent.errors import ConfigError

KEY_ENV = "LANGGRAPH_AES_KEY"


def checkpoint_serde() -> SerializerProtocol | None:
    """Return an encrypting serializer when a key is configured, else None (LangGraph's default)."""
    key = os.environ.get(KEY_ENV)
    if not key:
        return None
    if len(key.encode()) not in (16, 24, 32):
        raise ConfigError(f"{KEY_ENV} must be 16, 24 or 32 bytes long, not {len(key.encode())}")
    return EncryptedSerializer.from_pycryptodome_aes(key=key.encode())
