"""The durable checkpointer `langgraph dev` uses (langgraph.json `checkpointer.path`).

Studio threads live in their own SQLite file (`studio-checkpoints.sqlite` under the data folder),
so they survive a server restart and never share a writer with the Python facade's file.

Shape: langgraph-api (0.16) imports the attribute named by `checkpointer.path` and accepts a
`BaseCheckpointSaver`, an (async) context manager, or a callable returning either. It calls a
callable once per event loop and enters the result on an exit stack that is closed when the
server shuts down. So `checkpointer` is a function returning an async context manager: the
SQLite connection is opened on the server's loop (not at import) and closed on shutdown.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from safe_agent.checkpoints import checkpoint_serde

from safe_agent.settings import data_paths

FILENAME = "studio-checkpoints.sqlite"


def studio_checkpoints_path() -> Path:
    """Where Studio's checkpoints go: `studio-checkpoints.sqlite` in the data folder."""
    return data_paths().root / FILENAME


@contextlib.asynccontextmanager
async def checkpointer() -> AsyncIterator[AsyncSqliteSaver]:
    """Yield an AsyncSqliteSaver on the Studio checkpoint file, closed when the server stops."""
    path = studio_checkpoints_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    async with aiosqlite.connect(str(path)) as conn:
        saver = AsyncSqliteSaver(conn, serde=checkpoint_serde())  # encrypted at rest when LANGGRAPH_AES_KEY is set
        await saver.setup()
        yield saver
