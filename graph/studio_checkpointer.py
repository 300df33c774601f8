"""The durable checkpointer `langgraph dev` uses (langgraph.json `checkpointer.path`).

Studio threads live in their own SQLite file (`studio-checkpoints.sqlite` under the data folder),
so they survive a server restart and never share a writer with the Python facade's file. They
are encrypted under the data folder's key ring, like the facade's (`safe_agent.checkpoints`):
the same key sources, the same key file, created on first use.

With $SAFE_AGENT_DATABASE_URL set, Studio threads go to that PostgreSQL database instead, in the
same tables as the facade's (Postgres has no single-writer lock to keep apart from), so
`safe-agent pending` lists the threads paused in Studio too (`safe_agent.database`).

Shape: langgraph-api (0.16) imports the attribute named by `checkpointer.path` and accepts a
`BaseCheckpointSaver`, an (async) context manager, or a callable returning either. It calls a
callable once per event loop and enters the result on an exit stack that is closed when the
server shuts down. So `checkpointer` is a function returning an async context manager: the
SQLite connection is opened on the server's loop (not at import) and closed on shutdown.

The in-memory runtime of `langgraph dev` also keeps its own records (threads with a copy of
their latest values, runs with their input) in pickles under `./.langgraph_api`, created 0755
with 0644 files and never encrypted (docs/privacy.md). The server enters this checkpointer right
after creating that folder, so this is where it is made 0700 and its files 0600: nobody but the
server's user can open them. Their content is the server's, not ours to encrypt.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from safe_agent.checkpoints import checkpoint_serde
from safe_agent.database import open_async_postgres_checkpointer, resolve_url
from safe_agent.settings import data_paths
from safe_agent.stores._sqlite import DIR_MODE, FILE_MODE, private_file, private_folder

FILENAME = "studio-checkpoints.sqlite"
SERVER_RECORDS = Path(".langgraph_api")
"""Where the in-memory runtime keeps its pickles, relative to the server's working folder."""


def studio_checkpoints_path() -> Path:
    """Where Studio's checkpoints go: `studio-checkpoints.sqlite` in the data folder."""
    return data_paths().root / FILENAME


def protect_server_records(folder: Path = SERVER_RECORDS) -> None:
    """Make the runtime's own record folder 0700 and the files in it 0600, if it exists here."""
    if not folder.is_dir():
        return
    try:
        os.chmod(folder, DIR_MODE)
        for file in folder.iterdir():
            if file.is_file():
                os.chmod(file, FILE_MODE)
    except PermissionError:  # not the server's own folder: leave it to its owner
        pass


@contextlib.asynccontextmanager
async def checkpointer() -> AsyncIterator[BaseCheckpointSaver[Any]]:
    """Yield an encrypting saver, closed on shutdown: AsyncPostgresSaver when
    $SAFE_AGENT_DATABASE_URL is set, else AsyncSqliteSaver on the Studio checkpoint file."""
    protect_server_records()
    url = resolve_url()  # a malformed URL stops the server at start, in one line
    if url is not None:
        home = private_folder(data_paths().root)
        async with open_async_postgres_checkpointer(url, home) as saver:
            yield saver
        return
    path = studio_checkpoints_path()
    folder = private_folder(path.parent)
    serde = checkpoint_serde(folder)  # a lost key fails here, before anything is written
    private_file(path)
    async with aiosqlite.connect(str(path)) as conn:
        saver = AsyncSqliteSaver(conn, serde=serde)
        await saver.setup()
        yield saver
