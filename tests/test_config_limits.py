"""The config file is read with a size cap: `SAFE_AGENT_CONFIG=/dev/zero` is one line, not 24 GB.

Every way a config path can be wrong ends in one `ConfigError` line naming the file: a device or
a folder instead of a file, a file past `MAX_CONFIG_BYTES`, bytes that are not UTF-8, TOML or
JSON that does not parse. The endless and the huge inputs run in a child process whose address
space is capped (`resource.setrlimit`), so a regression fails fast instead of eating the host.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from safe_agent.cli import cli
from safe_agent.errors import ConfigError
from safe_agent.settings import MAX_CONFIG_BYTES, load_config

_CHILD_MEMORY = 1536 * 1024 * 1024  # far above what loading the config needs, far below 24 GB
_CHILD = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from safe_agent.errors import ConfigError
from safe_agent.settings import load_config
try:
    load_config(sys.argv[1])
except ConfigError as exc:
    print(json.dumps({{"error": str(exc)}}))
except MemoryError:
    print(json.dumps({{"memory": True}}))
else:
    print(json.dumps({{"loaded": True}}))
"""


def _load_in_child(path: str) -> dict[str, object]:
    """Load `path` in a memory-capped child; return what happened there."""
    code = _CHILD.format(limit=_CHILD_MEMORY)
    done = subprocess.run(
        [sys.executable, "-c", code, path],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SAFE_AGENT_CONFIG": ""},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_dev_zero_is_refused_in_one_line_without_reading_it() -> None:
    outcome = _load_in_child("/dev/zero")
    assert "error" in outcome, outcome  # before the fix: a MemoryError under the cap
    message = str(outcome["error"])
    assert "/dev/zero" in message and "not a regular file" in message
    assert len(message.splitlines()) == 1


@pytest.mark.slow
def test_a_file_past_the_cap_is_refused_without_reading_it(tmp_path: Path) -> None:
    """A sparse 3 GiB file: reading it whole would pass the child's memory cap."""
    big = tmp_path / "big.toml"
    with big.open("wb") as handle:
        handle.truncate(3 * 1024**3)
    outcome = _load_in_child(str(big))
    assert "error" in outcome, outcome
    message = str(outcome["error"])
    assert str(big) in message and f"{MAX_CONFIG_BYTES} bytes" in message
    assert len(message.splitlines()) == 1


def test_a_valid_file_just_past_the_cap_is_refused(tmp_path: Path) -> None:
    """Valid TOML (comments) one byte past the cap: the size alone refuses it."""
    file = tmp_path / "padded.toml"
    body = "[identity]\nsingle_operator = true\n"
    file.write_text(body + "#" * (MAX_CONFIG_BYTES - len(body)) + "\n")
    assert file.stat().st_size == MAX_CONFIG_BYTES + 1
    with pytest.raises(ConfigError, match="larger than") as caught:
        load_config(file)
    assert str(file) in str(caught.value)


def test_a_file_at_the_cap_still_loads(tmp_path: Path) -> None:
    file = tmp_path / "full.toml"
    body = "[identity]\nsingle_operator = true\n"
    file.write_text(body + "#" * (MAX_CONFIG_BYTES - len(body) - 1) + "\n")
    assert file.stat().st_size == MAX_CONFIG_BYTES
    assert load_config(file).identity.single_operator is True


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("latin1.toml", b'[identity]\nnote = "caf\xe9"\n', "not UTF-8"),
        ("broken.toml", b"[identity\nsingle_operator = true\n", "invalid config"),
        ("broken.json", b'{"identity": {', "invalid config"),
        ("wrong.toml", b"[identity]\nsingle_operator = 3\n", "identity.single_operator"),
    ],
)
def test_bad_bytes_and_bad_syntax_are_one_line(
    tmp_path: Path, name: str, content: bytes, needle: str
) -> None:
    file = tmp_path / name
    file.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_config(file)
    message = str(caught.value)
    assert needle in message and str(file) in message and len(message.splitlines()) == 1


def test_a_folder_is_not_a_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a regular file"):
        load_config(tmp_path)


def test_the_cli_shows_the_cap_as_one_line(tmp_path: Path) -> None:
    """Through a command that reads the config first (`tools`): one line, exit 1."""
    file = tmp_path / "huge.toml"
    with file.open("wb") as handle:
        handle.truncate(MAX_CONFIG_BYTES * 4)
    result = CliRunner().invoke(cli, ["tools"], env={"SAFE_AGENT_CONFIG": str(file)})
    assert result.exit_code == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: config_error:") and str(file) in lines[0]
