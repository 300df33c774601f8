"""The durable checkpointer `langgraph dev` uses (langgraph.json `checkpointer.path`).

Studio threads live in their own SQLite file (`studio-checkpoints.sqlite` under the data folder),
so they survive a server restart and never share a writer with the Python facade's file.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from safe_agent.settings import data_paths


@contextlib.asynccontextmanager
async def checkpointer() -> AsyncIterator[AsyncSqliteSaver]:
    """Yield an AsyncSqliteSaver on the Studio checkpoint file, closed when the server stops."""
    path = data_paths().root / "studio-checkpoints.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
        await saver.setup()
        yield saver
