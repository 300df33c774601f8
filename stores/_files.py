"""Read a small file an operator names (a config, a key ring, an audit key) without trusting it.

A path in an environment variable may name `/dev/zero`, a pipe, a folder or a huge file: reading
it whole would hang or exhaust memory. `read_bounded_text` refuses anything but a regular file,
reads at most `limit + 1` bytes (so a file that grows while it is read is refused too), and
decodes UTF-8; every refusal is a `FileRefused` whose message says why in a few words, for the
caller to put after the file's name in its own one-line error.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


class FileRefused(ValueError):
    """The file is not a regular file, is too large, cannot be read or is not UTF-8."""


def read_bounded_text(file: Path, limit: int) -> str:
    """Return the UTF-8 text of the regular file `file` of at most `limit` bytes."""
    try:
        with file.open("rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise FileRefused("not a regular file")
            data = handle.read(limit + 1)
    except IsADirectoryError:
        raise FileRefused("not a regular file") from None
    except OSError as exc:
        raise FileRefused(str(exc.strerror or exc)) from None
    if len(data) > limit:
        raise FileRefused(f"larger than {limit} bytes: refused")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileRefused(f"not UTF-8 (byte {exc.start})") from None
