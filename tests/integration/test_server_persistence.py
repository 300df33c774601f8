"""What a real `langgraph dev` leaves on disk after a run carrying a card number and an API key.

Someone who can read the server's folders greps every file for the raw values: the data folder
(Studio's checkpoints, audit, ledgers, desk) and the runtime's own `.langgraph_api/` pickles.

Findings (docs/privacy.md, "At rest"):
- the data folder holds no raw value: Studio checkpoints are encrypted under the folder's key
  (made on first use), the audit log is redacted; every file 0600, the folder 0700;
- the in-memory runtime pickles its thread records (a copy of the thread's latest *values*) and
  run records (the run's *input*) into `.langgraph_api/.langgraph_ops.pckl` itself, never
  encrypted (`LANGGRAPH_AES_KEY` covers checkpoints only). So the auth handler applies the input
  policy to the run's input before the server stores it: the values there are tokens or
  placeholders, and the folder is 0700 with its files 0600.
"""

from __future__ import annotations

import sqlite3
import stat
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.integration.conftest import StudioServer

pytestmark = pytest.mark.slow

CARD = "4111 1111 1111 1111"
API_KEY = "sk-proj-Z3xq9TbN4vLm8RkP2wYc7HjD5sFa1GeQ"
MESSAGE = f"My card is {CARD} and my key is {API_KEY}. Who is the contact for order 1001?"
RAW = (CARD.encode(), CARD.replace(" ", "").encode(), API_KEY.encode())


@pytest.fixture(scope="module")
def after_a_run(module_server: StudioServer) -> Iterator[StudioServer]:
    """One run with the secrets in its input, then a graceful stop (the runtime flushes)."""
    key = module_server.add_principal("u-req", role="write")
    client = module_server.client(key)
    thread_id = client.threads.create()["thread_id"]
    sent = {"messages": [{"role": "user", "content": MESSAGE}]}
    run = module_server.run(client, thread_id, input=sent)
    assert run["status"] == "success", module_server.log_tail()
    time.sleep(0.5)
    module_server.stop()
    yield module_server


def _hits(folder: Path) -> dict[str, list[bytes]]:
    found = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if hits := [raw for raw in RAW if raw in data]:
            found[str(path.relative_to(folder))] = hits
    return found


def _decoded_blobs(path: Path) -> list[str]:
    """Every checkpoint and write of a checkpoint file, decoded through the folder's serializer."""
    from safe_agent.checkpoints import checkpoint_serde

    serde = checkpoint_serde(path.parent, create=False)
    with closing(sqlite3.connect(path)) as db:
        rows = db.execute(
            "SELECT type, checkpoint FROM checkpoints UNION ALL SELECT type, value FROM writes"
        ).fetchall()
    return [repr(serde.loads_typed((typ, blob))) for typ, blob in rows if typ]


def test_data_folder_holds_no_raw_secret_and_is_private(after_a_run: StudioServer) -> None:
    data = after_a_run.data
    assert _hits(data) == {}
    assert (data / "checkpoint.key").exists()  # made by the server on first use
    assert {
        p.name: oct(stat.S_IMODE(p.stat().st_mode))
        for p in data.iterdir()
        if stat.S_IMODE(p.stat().st_mode) != 0o600
    } == {}
    assert stat.S_IMODE(data.stat().st_mode) == 0o700


def test_studio_checkpoints_decode_with_the_folder_key(after_a_run: StudioServer) -> None:
    """The encryption is real, not lost data: the key in the folder decodes every blob."""
    decoded = _decoded_blobs(after_a_run.data / "studio-checkpoints.sqlite")
    assert decoded and any("order 1001" in text for text in decoded)


def test_server_records_folder_is_private(after_a_run: StudioServer) -> None:
    records = after_a_run.workdir / ".langgraph_api"
    assert records.is_dir()
    assert stat.S_IMODE(records.stat().st_mode) == 0o700  # nobody else can open what is inside


def test_server_records_hold_no_raw_secret(after_a_run: StudioServer) -> None:
    assert _hits(after_a_run.workdir / ".langgraph_api") == {}


def test_decoded_checkpoints_hold_no_raw_secret(after_a_run: StudioServer) -> None:
    decoded = "\n".join(_decoded_blobs(after_a_run.data / "studio-checkpoints.sqlite"))
    assert not [raw for raw in RAW if raw.decode() in decoded]
