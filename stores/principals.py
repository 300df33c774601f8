"""The principal directory: who may act, with which role, tenant and approver groups.

Identity comes from a credential, never from a flag or the prompt (invariant 1). Each principal
has one API key at a time, shown once when it is issued (`add`, `bootstrap`, `rotate`):

    sa_<key_id>_<secret>      key_id: 12 hex characters; secret: secrets.token_urlsafe(32)

The file keeps only the public `key_id`, a per-key random salt and `sha256(salt + secret)`;
lookups go by `key_id` and the hash is compared with `hmac.compare_digest`. A fast salted hash
is enough here because the secret is 256 random bits: nobody can enumerate that space, so a
slow KDF (bcrypt, scrypt, argon2) would buy no security and would cost every HTTP request tens
of milliseconds. Slow KDFs are for low-entropy passwords, which these keys are not.

Ids and group names are canonicalised by `policies.identity.canonical_id`, so `U-REQ`,
`ｕ-ｒｅｑ` and ` u-req ` are one principal and cannot be added twice. A revoked principal stays
in the file (its id cannot be reused by someone else, and the directory never becomes "empty"
again, so `bootstrap` cannot be replayed after revoking everyone).

The file is created with mode 0600; SQLite gives its -wal and -shm files the same mode.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safe_agent.policies.identity import ROLES, canonical_id, check_id
from safe_agent.stores._sqlite import immediate, session

KEY_PREFIX = "sa_"
_KEY_PATTERN = re.compile(r"sa_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
_MAX_KEY_CHARS = 64  # longer input is refused before any regex or hashing work
_COLUMNS = "id, role, tenant, groups, status, created_at, key_id"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS principals (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    tenant TEXT,
    groups TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    key_id TEXT NOT NULL UNIQUE,
    key_salt TEXT NOT NULL,
    key_hash TEXT NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class PrincipalRecord:
    """One principal as the rest of the system sees it: no key material, ever."""

    id: str
    """Canonical id (`policies.identity.canonical_id`)."""
    role: str
    """read | write | admin."""
    tenant: str | None
    """Tenant or organisation, canonicalised like ids; None for none."""
    groups: tuple[str, ...]
    """Approver groups, canonicalised and sorted."""
    status: str
    """active | revoked."""
    created_at: float
    """Epoch seconds when the principal was added."""
    key_id: str
    """Public, non-secret part of the current key (shown in lists, safe to log)."""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict; it never contains a key, salt or hash."""
        return {
            "id": self.id,
            "role": self.role,
            "tenant": self.tenant,
            "groups": list(self.groups),
            "status": self.status,
            "created_at": self.created_at,
            "key_id": self.key_id,
        }


class PrincipalError(ValueError):
    """A directory change was refused; `reason_code` says why in one word."""

    def __init__(self, reason_code: str, message: str) -> None:
        """Keep the machine-readable reason beside the message."""
        super().__init__(message)
        self.reason_code = reason_code


def _canonical(raw: object, what: str) -> str:
    verdict, canonical = check_id(raw, what=what)
    if not verdict.allowed:
        raise PrincipalError("invalid_identity", verdict.detail)
    return canonical


def _new_key() -> tuple[str, str, str, str]:
    """Return (api_key, key_id, salt, hash) for a fresh key."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    return f"{KEY_PREFIX}{key_id}_{secret}", key_id, salt, _hash(salt, secret)


def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256((salt + secret).encode()).hexdigest()


def _record(row: Sequence[Any]) -> PrincipalRecord:
    return PrincipalRecord(
        id=row[0],
        role=row[1],
        tenant=row[2],
        groups=tuple(json.loads(row[3])),
        status=row[4],
        created_at=row[5],
        key_id=row[6],
    )


class PrincipalDirectory:
    """The `principals` table in its own file (`DataPaths.principals`)."""

    def __init__(self, path: str | Path) -> None:
        """Create the file (mode 0600, parent folders as needed) and the table."""
        self.path = str(path)
        file = Path(self.path)
        file.parent.mkdir(parents=True, exist_ok=True)
        file.touch(mode=0o600, exist_ok=True)
        os.chmod(file, 0o600)  # touch does not change the mode of an existing file
        with session(self.path) as db:
            db.execute(_SCHEMA)

    def is_empty(self) -> bool:
        """Say whether no principal (active or revoked) was ever added."""
        with session(self.path) as db:
            return db.execute("SELECT count(*) FROM principals").fetchone()[0] == 0

    def add(
        self,
        principal_id: str,
        *,
        role: str,
        tenant: str | None = None,
        groups: Sequence[str] = (),
        now: float,
    ) -> tuple[PrincipalRecord, str]:
        """Add a principal; return its record and its API key (shown once, never stored)."""
        return self._insert(
            principal_id, role=role, tenant=tenant, groups=groups, now=now, only_if_empty=False
        )

    def bootstrap(self, principal_id: str, *, now: float) -> tuple[PrincipalRecord, str]:
        """Create the first admin, only while the directory is empty (an atomic check-and-write)."""
        return self._insert(
            principal_id, role="admin", tenant=None, groups=(), now=now, only_if_empty=True
        )

    def _insert(
        self,
        principal_id: str,
        *,
        role: str,
        tenant: str | None,
        groups: Sequence[str],
        now: float,
        only_if_empty: bool,
    ) -> tuple[PrincipalRecord, str]:
        pid = _canonical(principal_id, "principal id")
        if role not in ROLES:
            allowed = ", ".join(ROLES)
            shown = str(role)[:40]
            raise PrincipalError("invalid_role", f"role must be one of {allowed}, not {shown!r}")
        canon_tenant = None if tenant is None else _canonical(tenant, "tenant")
        if isinstance(groups, str):
            raise PrincipalError("invalid_identity", "groups must be a list of names, not a string")
        canon_groups = tuple(sorted({_canonical(g, "group") for g in groups}))
        api_key, key_id, salt, digest = _new_key()
        with session(self.path) as db, immediate(db):
            count = db.execute("SELECT count(*) FROM principals").fetchone()[0]
            if only_if_empty and count:
                message = "the directory already has principals: ask an admin to add you"
                raise PrincipalError("directory_not_empty", message)
            taken = db.execute("SELECT 1 FROM principals WHERE id = ?", [pid]).fetchone()
            if taken:
                raise PrincipalError("principal_exists", f"principal {pid!r} already exists")
            groups_json = json.dumps(canon_groups)
            row = [pid, role, canon_tenant, groups_json, now, now, key_id, salt, digest]
            db.execute(
                "INSERT INTO principals (id, role, tenant, groups, status, created_at, "
                "updated_at, key_id, key_salt, key_hash) "
                "VALUES (?, ?, ?, ?, 'active', ?, ?, ?, ?, ?)",
                row,
            )
        record = PrincipalRecord(
            id=pid,
            role=role,
            tenant=canon_tenant,
            groups=canon_groups,
            status="active",
            created_at=now,
            key_id=key_id,
        )
        return record, api_key

    def get(self, principal_id: str) -> PrincipalRecord | None:
        """Return the principal (any status) whose canonical id matches, else None."""
        pid = canonical_id(principal_id)
        if pid is None:
            return None
        with session(self.path) as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM principals WHERE id = ?", [pid]).fetchone()
        return None if row is None else _record(row)

    def list(self) -> list[PrincipalRecord]:
        """Return every principal, revoked ones included, sorted by id."""
        with session(self.path) as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM principals ORDER BY id").fetchall()
        return [_record(r) for r in rows]

    def revoke(self, principal_id: str, *, now: float) -> bool:
        """Revoke a principal at once; return False if it was already revoked.

        Raises PrincipalError("no_such_principal") for an unknown id, so a typo is not mistaken
        for success, and PrincipalError("last_admin") rather than lock every operator out.
        """
        pid = self._existing(principal_id)
        with session(self.path) as db, immediate(db):
            admins = [
                r[0]
                for r in db.execute(
                    "SELECT id FROM principals WHERE role = 'admin' AND status = 'active'"
                ).fetchall()
            ]
            if admins == [pid]:  # checked in the same transaction: two revokes cannot both pass
                raise PrincipalError(
                    "last_admin", f"{pid} is the last active admin; add another first"
                )
            changed = db.execute(
                "UPDATE principals SET status = 'revoked', updated_at = ? "
                "WHERE id = ? AND status = 'active'",
                [now, pid],
            ).rowcount
        return changed > 0

    def rotate(self, principal_id: str, *, now: float) -> str:
        """Issue a new key for an active principal; the old key stops working at once."""
        pid = self._existing(principal_id)
        api_key, key_id, salt, digest = _new_key()
        with session(self.path) as db, immediate(db):
            changed = db.execute(
                "UPDATE principals SET key_id = ?, key_salt = ?, key_hash = ?, updated_at = ? "
                "WHERE id = ? AND status = 'active'",
                [key_id, salt, digest, now, pid],
            ).rowcount
        if not changed:
            raise PrincipalError("principal_revoked", f"principal {pid!r} is revoked")
        return api_key

    def _existing(self, principal_id: str) -> str:
        pid = _canonical(principal_id, "principal id")
        if self.get(pid) is None:
            raise PrincipalError("no_such_principal", f"no principal {pid!r}")
        return pid

    def authenticate(self, api_key: object) -> PrincipalRecord | None:
        """Return the active principal holding this key, else None; never raises on bad input."""
        if not isinstance(api_key, str) or len(api_key) > _MAX_KEY_CHARS:
            return None
        match = _KEY_PATTERN.fullmatch(api_key)
        if match is None:
            return None
        key_id, secret = match.groups()
        with session(self.path) as db:
            row = db.execute(
                f"SELECT {_COLUMNS}, key_salt, key_hash FROM principals WHERE key_id = ?",
                [key_id],
            ).fetchone()
        if row is None or not hmac.compare_digest(_hash(row[7], secret), row[8]):
            return None
        record = _record(row[:7])
        return record if record.status == "active" else None
