"""Key files an operator names are read with a cap, like config files (issue 13: bad input).

`SAFE_AGENT_DATA_KEY_FILE` (the checkpoint key ring) and `[audit] key_file` used to be read
whole: pointed at `/dev/zero` or a huge file, the process read until memory ran out. Each child
below runs with a capped address space, so a regression ends in a MemoryError there, fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

_CHILD_MEMORY = 1536 * 1024 * 1024
_RING = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from safe_agent.checkpoints import CheckpointKeyError, load_keyring
try:
    load_keyring(sys.argv[2])
except CheckpointKeyError as exc:
    print(json.dumps({{"error": str(exc)}}))
except MemoryError:
    print(json.dumps({{"memory": True}}))
else:
    print(json.dumps({{"loaded": True}}))
"""
_AUDIT = """
import json, resource, sys
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from safe_agent.stores.audit_anchor import AuditKeyError, load_key
try:
    load_key(env_value=None, key_file=Path(sys.argv[1]), default_file=Path(sys.argv[2]) / "k",
             create=False)
except AuditKeyError as exc:
    print(json.dumps({{"error": str(exc)}}))
except MemoryError:
    print(json.dumps({{"memory": True}}))
else:
    print(json.dumps({{"loaded": True}}))
"""


def _child(code: str, path: str, home: Path, env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", code.format(limit=_CHILD_MEMORY), path, str(home)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _sparse(tmp_path: Path) -> Path:
    big = tmp_path / "big.key"
    with big.open("wb") as handle:
        handle.truncate(3 * 1024**3)
    return big


@pytest.mark.slow
@pytest.mark.parametrize("source", ["/dev/zero", "sparse"])
def test_the_checkpoint_key_ring_file_is_capped(tmp_path: Path, source: str) -> None:
    path = "/dev/zero" if source == "/dev/zero" else str(_sparse(tmp_path))
    outcome = _child(_RING, path, tmp_path, {"SAFE_AGENT_DATA_KEY_FILE": path})
    assert "error" in outcome, outcome
    message = str(outcome["error"])
    assert path in message and len(message.splitlines()) == 1


@pytest.mark.slow
@pytest.mark.parametrize("source", ["/dev/zero", "sparse"])
def test_the_audit_key_file_is_capped(tmp_path: Path, source: str) -> None:
    path = "/dev/zero" if source == "/dev/zero" else str(_sparse(tmp_path))
    outcome = _child(_AUDIT, path, tmp_path, {})
    assert "error" in outcome, outcome
    message = str(outcome["error"])
    assert path in message and len(message.splitlines()) == 1
