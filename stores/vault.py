"""The PII vault: the values behind the stand-in tokens the model sees, per thread, encrypted.

Graph state streams to clients and is checkpointed, so it holds only `[[pii:<kind>:<tag>]]`
tokens (`policies.pii`); the values live here, outside the graph, in the safety store (shared by
every process on the home). A row is (scope, token) -> AES-GCM(value) with the scope and token as
associated data, so a row copied to another thread does not decrypt. The key is `<home>/vault.key`
(mode 0600), made on first use; the token HMAC key and the encryption key are derived from it.

`protect_text` / `protect_value` apply the operator's `[input.pii]` actions and store what they
tokenize; `reveal_value` gives the tool its values back, and refuses a token this scope never
issued (another thread's, or made up) instead of sending the literal token on.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import tempfile
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from Crypto.Cipher import AES

from safe_agent.policies.pii import (
    TOKEN_PATTERN,
    Finding,
    actions_for,
    canonical,
    detect,
    make_token,
    placeholder,
    summary,
)
from safe_agent.policies.pii_config import PiiConfig
from safe_agent.policies.redaction import (
    FALLBACK_PLACEHOLDER,
    MAX_DEPTH,
    is_secret_key,
    is_structural_key,
)
from safe_agent.policies.redaction_rules import IDENTIFIER
from safe_agent.stores._sqlite import immediate, session

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pii_vault (
    scope TEXT NOT NULL,
    token TEXT NOT NULL,
    kind TEXT NOT NULL,
    sealed BLOB NOT NULL,
    PRIMARY KEY (scope, token)
)
"""


def _walk(value: Any, leaf: Callable[[Any, str], Any], key: str = "", depth: int = 0) -> Any:
    """Copy JSON-like data with `leaf(scalar, its dict key)` applied; too deep: the placeholder."""
    if isinstance(value, (dict, list, tuple)) and depth >= MAX_DEPTH:
        return FALLBACK_PLACEHOLDER
    if isinstance(value, dict):
        return {k: _walk(v, leaf, str(k), depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_walk(v, leaf, key, depth + 1) for v in value]
    return leaf(value, key)


class UnknownToken(LookupError):
    """A token that this scope's vault never issued: the call must not run with it."""


@dataclass(frozen=True)
class Protected:
    """A rewritten text or value and what was found in it (kinds and actions; values stay here)."""

    value: Any
    findings: tuple[Finding, ...] = ()
    actions: tuple[str, ...] = ()

    def summary(self) -> list[dict[str, object]]:
        """Kinds, actions and counts for the audit."""
        return summary(self.findings, self.actions)


def _load_key(file: Path) -> bytes:
    """Read the vault key; make it if missing (mode 0600, atomic: the first process's key wins)."""
    if not file.exists():
        file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=".vault-key-")  # mkstemp: mode 0600
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
            os.link(tmp, file)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return bytes.fromhex(file.read_text().split()[0])


class Vault:
    """The `pii_vault` table and the key that seals it."""

    def __init__(self, path: str | Path, key_file: str | Path) -> None:
        """Create the table and load (or make) the key."""
        self.path = str(path)
        master = _load_key(Path(key_file))
        self._tag_key = hmac.new(master, b"safe-agent pii token v1", hashlib.sha256).digest()
        self._seal_key = hmac.new(master, b"safe-agent pii vault v1", hashlib.sha256).digest()
        with session(self.path) as db:
            db.execute(_SCHEMA)

    def token(self, scope: str, kind: str, value: str) -> str:
        """The token `value` has in `scope` (computed, not stored)."""
        return make_token(self._tag_key, scope, kind, value)

    def _seal(self, scope: str, token: str, value: str) -> bytes:
        cipher = AES.new(self._seal_key, AES.MODE_GCM)
        cipher.update(f"{scope}\x00{token}".encode())
        sealed, tag = cipher.encrypt_and_digest(value.encode())
        return bytes(cipher.nonce) + tag + sealed

    def _open(self, scope: str, token: str, blob: bytes) -> str:
        """Decrypt a row; ValueError if it was altered or moved to another scope or token."""
        cipher = AES.new(self._seal_key, AES.MODE_GCM, nonce=blob[:16])
        cipher.update(f"{scope}\x00{token}".encode())
        return cipher.decrypt_and_verify(blob[32:], blob[16:32]).decode()

    def _row(self, db: Any, scope: str, token: str) -> bytes | None:
        row = db.execute(
            "SELECT sealed FROM pii_vault WHERE scope = ? AND token = ?", [scope, token]
        ).fetchone()
        return None if row is None else row[0]

    def issue(self, scope: str, items: Sequence[Finding]) -> list[str]:
        """Store each value under its token in `scope` (once) and return the tokens, in order.

        A value spelt another way ("FR76 3000 ..." / "FR763000...") shares its first spelling's
        token and row. A token already held for another value (an HMAC collision, about 1 in 4
        billion per pair) is not reused: that value gets its placeholder, so no tool ever gets
        the wrong one.
        """
        out: list[str] = []
        if not items:
            return out
        with session(self.path) as db, immediate(db):
            for item in items:
                token = self.token(scope, item.kind, item.value)
                blob = self._row(db, scope, token)
                if blob is None:
                    db.execute(
                        "INSERT INTO pii_vault (scope, token, kind, sealed) VALUES (?, ?, ?, ?)",
                        [scope, token, item.kind, self._seal(scope, token, item.value)],
                    )
                elif not self._holds(scope, token, blob, item):
                    token = placeholder(item.kind)
                out.append(token)
        return out

    def _holds(self, scope: str, token: str, blob: bytes, item: Finding) -> bool:
        try:
            held = self._open(scope, token, blob)
        except ValueError:  # an altered row never stands for a value
            return False
        return canonical(item.kind, held) == canonical(item.kind, item.value)

    def value_of(self, scope: str, token: str) -> str:
        """The value behind `token` in `scope`; UnknownToken if this scope never issued it."""
        with session(self.path) as db:
            blob = self._row(db, scope, token)
        if blob is not None:
            try:
                return self._open(scope, token, blob)
            except ValueError:  # an altered row: as good as unknown
                pass
        raise UnknownToken(token)

    def holds(self, scope: str, token: str) -> bool:
        """Say whether `scope` issued `token`."""
        with session(self.path) as db:
            return self._row(db, scope, token) is not None

    def _stand_ins(
        self, scope: str, findings: Sequence[Finding], actions: Sequence[str]
    ) -> list[str]:
        """What replaces each finding: its token (stored now), itself (allow, block) or its
        placeholder (redact)."""
        pairs = list(zip(findings, actions, strict=True))
        tokens = iter(self.issue(scope, [f for f, a in pairs if a == "tokenize"]))
        return [
            next(tokens)
            if a == "tokenize"
            else f.value
            if a in ("allow", "block")
            else placeholder(f.kind)
            for f, a in pairs
        ]

    def protect_text(
        self, scope: str, text: str, config: PiiConfig, *, tool_output: bool = False
    ) -> Protected:
        """Apply the operator's actions to one text; tokenized values are stored in `scope`.

        A text with a blocked kind is returned as it is, and nothing of it is stored: the caller
        refuses the whole message.
        """
        found = detect(text)
        if not found.findings:
            return Protected(text)
        actions = tuple(actions_for(found.findings, config, tool_output=tool_output))
        if "block" in actions:
            return Protected(text, found.findings, actions)
        shown = found.fill(self._stand_ins(scope, found.findings, actions))
        return Protected(shown, found.findings, actions)

    def protect_value(self, scope: str, value: Any, config: PiiConfig) -> Protected:
        """Apply the actions to every string (and integer: a card number) of a tool result. Keys
        stay, ids and digests under structural keys stay (`redaction.is_structural_key`), and a
        value under a secret-named key is a "secret" whatever it looks like."""
        findings: list[Finding] = []
        actions: list[str] = []

        def text(item: str, key: str) -> str:
            if item and is_secret_key(key) and not TOKEN_PATTERN.fullmatch(item):
                found = [Finding("secret", item)]
                chosen = actions_for(found, config, tool_output=True)
                findings.extend(found)
                actions.extend(chosen)
                return self._stand_ins(scope, found, chosen)[0]
            done = self.protect_text(scope, item, config, tool_output=True)
            findings.extend(done.findings)
            actions.extend(done.actions)
            return str(done.value)

        def leaf(item: Any, key: str) -> Any:
            ident = isinstance(item, (str, int)) and IDENTIFIER.fullmatch(str(item))
            if ident and is_structural_key(key):
                return item
            if isinstance(item, int) and not isinstance(item, bool):
                shown = text(str(item), key)
                return item if shown == str(item) else shown
            return text(item, key) if isinstance(item, str) else item

        return Protected(_walk(value, leaf), tuple(findings), tuple(actions))

    def reveal_value(self, scope: str, value: Any) -> tuple[Any, dict[str, str]]:
        """Replace every token in `value` by its value in `scope`; also return token -> value.

        Raises UnknownToken for a token `scope` never issued.
        """
        used: dict[str, str] = {}

        def swap(match: re.Match[str]) -> str:
            token = match.group(0)
            if token not in used:
                used[token] = self.value_of(scope, token)
            return used[token]

        def leaf(item: Any, key: str) -> Any:
            tokens = isinstance(item, str) and "[[pii:" in item
            return TOKEN_PATTERN.sub(swap, item) if tokens else item

        return _walk(value, leaf), used

    def reveal_kinds(self, scope: str, value: Any, kinds: Collection[str]) -> Any:
        """A copy of `value` with the tokens of `kinds` replaced by their values, for a person who
        must read them (an approver checks a recipient); other kinds' tokens, and tokens `scope`
        never issued, stay as they are. Never raises for a token."""

        def swap(match: re.Match[str]) -> str:
            if match.group("kind") not in kinds:
                return match.group(0)
            try:
                return self.value_of(scope, match.group(0))
            except (UnknownToken, ValueError):
                return match.group(0)

        def leaf(item: Any, key: str) -> Any:
            tokens = isinstance(item, str) and "[[pii:" in item
            return TOKEN_PATTERN.sub(swap, item) if tokens else item

        return _walk(value, leaf)

    def conceal_value(self, scope: str, value: Any, used: dict[str, str]) -> Any:
        """Undo `reveal_value` on a copy (e.g. validated arguments): each revealed value, and any
        value this scope already holds a token for, becomes its token again."""
        ordered = sorted(used.items(), key=lambda pair: -len(pair[1]))

        def leaf(item: Any, key: str) -> Any:
            if not isinstance(item, str):
                return item
            for token, secret in ordered:
                item = item.replace(secret, token)
            found = detect(item)
            known = [self.token(scope, f.kind, f.value) for f in found.findings]
            return found.fill(
                [
                    t if self.holds(scope, t) else f.value
                    for t, f in zip(known, found.findings, strict=True)
                ]
            )

        return _walk(value, leaf)
