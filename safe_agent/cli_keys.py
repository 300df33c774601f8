"""`safe-agent keys`: see which key encrypts the checkpoints, and rotate it without losing threads.

Rotation prepends a new secret to the key ring (`safe_agent.checkpoints`): new checkpoints are
written under it, older ones stay readable under the keys kept after it. `--reencrypt` then
rewrites every older blob (and any plain one from before encryption) under the new key and
vacuums the file, so no page under a retired key, or in the clear, is left behind; only then may
an old key be deleted from the ring. Running processes need no restart: a blob naming a key they
do not hold makes them re-read the ring. Rotating is admin only and audited.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import sqlite3
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import click

from safe_agent.cli import _emit, _guard, cli, home_option, json_option, open_agent
from safe_agent.cli_identity import identity_options, require_admin, resolve_principal
from safe_agent.errors import ConfigError

if TYPE_CHECKING:  # `safe_agent.checkpoints` loads LangGraph's saver: imported where used
    from safe_agent.keyring import KeyRing

_BLOBS = (("checkpoints", "checkpoint"), ("writes", "value"))


def key_usage(path: Path) -> dict[str, int]:
    """Count the blobs of a checkpoint file by the key id they need (`plain`: not encrypted)."""
    from safe_agent.keyring import KeyRingCipher

    counts: Counter[str] = Counter()
    with closing(_connect(path)) as conn:
        for table, _column in _BLOBS:
            for (typ,) in conn.execute(f"SELECT type FROM {table} WHERE type IS NOT NULL"):
                _, _, name = typ.partition("+")
                counts[KeyRingCipher.key_for(name) if name else "plain"] += 1
    return dict(counts)


def reencrypt_file(path: Path, ring: KeyRing) -> int:
    """Rewrite every blob of `path` not under the ring's current key; vacuum; return how many."""
    from safe_agent.keyring import KeyRingCipher, cipher_name

    cipher, target = KeyRingCipher(ring), cipher_name(ring.current)
    changed = 0
    with closing(_connect(path)) as conn:  # closing an open transaction rolls it back
        conn.execute("BEGIN IMMEDIATE")
        for table, column in _BLOBS:
            rows = conn.execute(f"SELECT rowid, type FROM {table} WHERE type IS NOT NULL")
            for rowid, typ in rows.fetchall():
                base, _, name = typ.partition("+")
                if name == target:
                    continue
                get = f"SELECT {column} FROM {table} WHERE rowid = ?"
                (blob,) = conn.execute(get, (rowid,)).fetchone()
                if blob is None:
                    continue
                new_name, sealed = cipher.encrypt(cipher.decrypt(name, blob) if name else blob)
                conn.execute(
                    f"UPDATE {table} SET type = ?, {column} = ? WHERE rowid = ?",
                    (f"{base}+{new_name}", sealed, rowid),
                )
                changed += 1
        conn.execute("COMMIT")
        if changed:  # freed pages still hold the old bytes until the file is rewritten
            conn.execute("VACUUM")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return changed


def _connect(path: Path) -> sqlite3.Connection:
    """A short-lived connection to a checkpoint file: autocommit, busy timeout."""
    from safe_agent.stores._sqlite import BUSY_TIMEOUT_MS

    return sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)


def rotate_keyring(home: Path) -> tuple[KeyRing, list[str]]:
    """Prepend a new secret to the ring file in use; return the new ring and notes to show.

    The file is `$SAFE_AGENT_DATA_KEY_FILE`, else `<home>/checkpoint.key`. `$SAFE_AGENT_DATA_KEY`
    lives in the environment and cannot be rewritten: refused. A set `$LANGGRAPH_AES_KEY` is
    copied into the file (as `aes:`), so unsetting it afterwards leaves what it wrote readable.
    """
    from safe_agent.checkpoints import (
        DATA_KEY_ENV,
        DATA_KEY_FILE_ENV,
        KEY_ENV,
        default_key_file,
        load_keyring,
        write_ring_file,
    )
    from safe_agent.keyring import parse_ring
    from safe_agent.stores._sqlite import private_file

    if os.environ.get(DATA_KEY_ENV):
        raise ConfigError(
            f"the checkpoint keys come from ${DATA_KEY_ENV}: put a new secret first "
            "and keep the old ones after it (comma-separated); see docs/privacy.md"
        )
    named, legacy = os.environ.get(DATA_KEY_FILE_ENV), os.environ.get(KEY_ENV)
    file = Path(named) if named else default_key_file(home)
    if not named and not legacy and not file.exists():
        load_keyring(home)  # first use: creates the key file, or says the key was lost
    lock = file.with_name(file.name + ".lock")
    private_file(lock)
    with lock.open("r+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # two rotations at once must not drop each other's key
        old = list(parse_ring(file.read_text(), str(file)).lines) if file.exists() else []
        if legacy and f"aes:{legacy}" not in old:
            old.append(f"aes:{legacy}")
        lines = [secrets.token_hex(32), *old]
        ring = parse_ring("\n".join(lines), f"key file {file}")
        write_ring_file(file, lines, replace=True)
    note = (
        f"${KEY_ENV} is still set and wins: unset it so new checkpoints use key "
        f"{ring.current} (it stays in the ring, for reading)"
    )
    notes = [note] if legacy else []
    return ring, notes


@cli.group()
def keys() -> None:
    """Show and rotate the key that encrypts checkpoints at rest (docs/privacy.md).

    Example: SAFE_AGENT_API_KEY=sa_... safe-agent keys rotate --reencrypt
    """


@keys.command()
@home_option
@json_option
@_guard
def status(home: str | None, as_json: bool) -> None:
    """Show where the checkpoint keys come from and which key each file's blobs need (ids only).

    Example: safe-agent keys status --json
    """
    from safe_agent.checkpoints import (
        DATA_KEY_ENV,
        DATA_KEY_FILE_ENV,
        KEY_ENV,
        checkpoint_files,
        default_key_file,
        encrypted_checkpoint_files,
        load_keyring,
    )
    from safe_agent.settings import data_paths

    root = data_paths(home).root
    locked = encrypted_checkpoint_files(root)
    try:
        ring = load_keyring(root, create=False)
        info = {"source": ring.source, "current": ring.current, "keys": list(ring.keys)}
    except ConfigError as exc:
        named = any(map(os.environ.get, (KEY_ENV, DATA_KEY_ENV, DATA_KEY_FILE_ENV)))
        if locked or default_key_file(root).exists() or named:
            raise  # a lost or unreadable key, not a folder that has none yet
        info = {"source": None, "current": None, "keys": [], "note": f"{exc} (made on first use)"}
    info["files"] = {p.name: key_usage(p) for p in checkpoint_files(root)}

    def human() -> None:
        click.echo(
            f"keys from {info['source'] or 'nowhere yet'}; current {info['current']}; "
            f"held: {', '.join(info['keys']) or 'none'}"
        )
        for name, usage in info["files"].items():
            counts = ", ".join(f"{k} {n}" for k, n in sorted(usage.items()))
            click.echo(f"  {name}: {counts or 'empty'}")

    _emit(as_json, info, human)


@keys.command()
@click.option("--reencrypt", is_flag=True, help="Rewrite older and plain blobs under the new key.")
@identity_options
@home_option
@json_option
@_guard
def rotate(
    reencrypt: bool, key_file: str | None, as_id: str | None, home: str | None, as_json: bool
) -> None:
    """Make a new current checkpoint key, keeping the old ones for reading; admin only, audited.

    Example: SAFE_AGENT_API_KEY=sa_... safe-agent keys rotate --reencrypt --json
    """
    from safe_agent.checkpoints import checkpoint_files, load_keyring
    from safe_agent.keyring import KeyRing

    me = resolve_principal(home, key_file, as_id)
    require_admin(me, "keys rotate")
    with open_agent(home) as agent:  # a lost key fails here, before anything changes
        root = agent.services.paths.root
        old = load_keyring(root)
        ring, notes = rotate_keyring(root)
        every = {ring.current: ring.keys[ring.current]} | load_keyring(root).keys
        rewritten = (
            {
                p.name: reencrypt_file(p, KeyRing(ring.source, every, ring.lines))
                for p in checkpoint_files(root)
            }
            if reencrypt
            else {}
        )
        kept = ", ".join(k for k in ring.keys if k != ring.current)
        detail = (
            f"new checkpoint key {ring.current} in {ring.source}; kept for reading: {kept}; "
            f"was writing with {old.current}"
        )
        if reencrypt:
            detail += "; re-encrypted " + ", ".join(f"{n} in {f}" for f, n in rewritten.items())
        agent.record_operator_action(
            "checkpoint_key_rotate", "checkpoint keys", me.id, detail, reason_code="key_rotation"
        )
    info = {
        "current": ring.current,
        "keys": list(ring.keys),
        "source": ring.source,
        "reencrypted": rewritten,
        "notes": notes,
    }

    def human() -> None:
        click.echo(
            f"new checkpoint key {ring.current} ({ring.source}); "
            f"{len(ring.keys) - 1} older key(s) kept for reading"
        )
        for name, count in rewritten.items():
            click.echo(f"  re-encrypted {count} blob(s) in {name}")
        for note in notes:
            click.echo(f"  note: {note}")

    _emit(as_json, info, human)
