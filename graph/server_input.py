"""The server's side of `[input.pii]`: a run's input is protected before the server stores it.

The in-memory runtime of `langgraph dev` pickles each run's input to `.langgraph_api/`
unencrypted, and streams its first checkpoint to clients, so `graph/auth.py` `on_run_create`
hands the input through `protected_input` first (the runtime stores and runs that very dict).
Tokens are issued in the thread's vault scope, the scope `validate_input` and the tools use.
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

from safe_agent.nodes._input import protect_run_input
from safe_agent.policies.config import SafetyConfig
from safe_agent.settings import data_paths
from safe_agent.stores.vault import Vault


@cache
def _vault() -> Vault:
    """Open the home's vault once per process (the data folder is known at the first run)."""
    paths = data_paths()
    return Vault(paths.safety, paths.vault_key)


async def protected_input(config: SafetyConfig, thread_id: object, payload: Any) -> Any:
    """The run's input with `[input.pii]` applied, off the event loop (the vault is SQLite). A
    run without a thread yet has no scope to issue tokens in, so there "tokenize" redacts."""
    vault = await asyncio.to_thread(_vault) if thread_id is not None else None
    return await asyncio.to_thread(
        protect_run_input, vault, config.input.pii, str(thread_id or ""), payload
    )
