"""What a checkpoint key ring is, and how a blob is sealed under it (no I/O: see checkpoints.py).

Why a ring and not one key: a rotated key must not make old threads unreadable, so a ring keeps
every key that may still be needed, and each blob names the key it was sealed with.

A ring lists secrets (32+ characters) one per line, the current one first; `aes:<key>` is a
`LANGGRAPH_AES_KEY` kept for reading. Each secret is stretched to an AES-256 key by SHA-256. Its
key id (16 hex of an HMAC of the key) is written beside each blob, as the cipher name
`aes256-gcm:<id>` that LangGraph's `EncryptedSerializer` appends to the type, so a reader picks
the right key and an operator learns which key is missing. Blobs are AES-256-GCM with a random
96-bit nonce, the cipher name authenticated with them (a blob cannot be relabelled to another
key). A `LANGGRAPH_AES_KEY` writes LangGraph's own format instead (cipher name `aes`, AES-EAX), so
LangGraph's stock serializer reads it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass

from Crypto.Cipher import AES
from langgraph.checkpoint.serde.base import CipherProtocol

from safe_agent.errors import ConfigError

try:  # the fast AES-GCM; pycryptodome (a dependency) computes the same when it is missing
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM as _AESGCM
except ImportError:  # pragma: no cover - depends on the environment
    _AESGCM = None
    InvalidTag = ValueError

CIPHER = "aes256-gcm"
LEGACY_ID = "aes"  # LangGraph's cipher name for LANGGRAPH_AES_KEY blobs, and their key id
MIN_SECRET_CHARS = 32


class CheckpointKeyError(ConfigError):
    """The checkpoint key is missing, malformed, or not the one a checkpoint was written with."""

    reason_code = "checkpoint_key"


@dataclass(frozen=True)
class KeyRing:
    """The keys checkpoints are written and read with: id → AES key, the current one first."""

    source: str
    """Where it came from, for messages: `$LANGGRAPH_AES_KEY`, `key file /path`, ..."""
    keys: dict[str, bytes]
    lines: tuple[str, ...]
    """The first source's ring as written (one secret per line), so rotation can prepend to it."""

    @property
    def current(self) -> str:
        """The id of the key new blobs are written with."""
        return next(iter(self.keys))


def derive_key(secret: str) -> bytes:
    """Stretch an operator's secret into an AES-256 key (a fixed, versioned derivation)."""
    return hashlib.sha256(b"safe-agent/checkpoint-key/v1\n" + secret.encode()).digest()


def key_id(key: bytes) -> str:
    """A public name for a key: it says which key a blob needs without revealing the key."""
    return hmac.new(key, b"safe-agent checkpoint key id", hashlib.sha256).hexdigest()[:16]


def legacy_key(value: str, where: str) -> bytes:
    """A LANGGRAPH_AES_KEY as LangGraph takes it: the raw bytes, 16, 24 or 32 of them."""
    raw = value.encode()
    if len(raw) not in (16, 24, 32):
        raise CheckpointKeyError(f"{where} must be 16, 24 or 32 bytes long, not {len(raw)}")
    return raw


def parse_ring(text: str, source: str) -> KeyRing:
    """Read a ring: one secret per line (blank lines and `#` comments skipped), current first."""
    keys: dict[str, bytes] = {}
    stripped = (line.strip() for line in text.splitlines())
    lines = tuple(s for s in stripped if s and not s.startswith("#"))
    for line in lines:
        if line.startswith(f"{LEGACY_ID}:"):
            raw = legacy_key(line[len(LEGACY_ID) + 1 :], f"the aes: key in {source}")
            keys.setdefault(LEGACY_ID, raw)
            continue
        if len(line) < MIN_SECRET_CHARS:
            raise CheckpointKeyError(
                f"a checkpoint key in {source} is shorter than {MIN_SECRET_CHARS} characters"
            )
        key = derive_key(line)
        keys.setdefault(key_id(key), key)
    if not keys:
        raise CheckpointKeyError(f"{source} holds no checkpoint key")
    return KeyRing(source, keys, lines)


def cipher_name(kid: str) -> str:
    """The cipher name written beside a blob sealed under key `kid`."""
    return LEGACY_ID if kid == LEGACY_ID else f"{CIPHER}:{kid}"


def _gcm_seal(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> tuple[bytes, bytes]:
    """AES-GCM: `cryptography` when installed (much faster per blob), else pycryptodome."""
    if _AESGCM is not None:
        sealed = _AESGCM(key).encrypt(nonce, plaintext, aad)
        return sealed[:-16], sealed[-16:]
    cipher = AES.new(key, AES.MODE_GCM, nonce=nonce)
    cipher.update(aad)
    return cipher.encrypt_and_digest(plaintext)


def _gcm_open(key: bytes, nonce: bytes, ciphertext: bytes, tag: bytes, aad: bytes) -> bytes:
    """Undo `_gcm_seal` (with either library); ValueError when the blob does not authenticate."""
    if _AESGCM is not None:
        try:
            return _AESGCM(key).decrypt(nonce, ciphertext + tag, aad)
        except InvalidTag:
            raise ValueError("MAC check failed") from None
    cipher = AES.new(key, AES.MODE_GCM, nonce=nonce)
    cipher.update(aad)
    return cipher.decrypt_and_verify(ciphertext, tag)


class KeyRingCipher(CipherProtocol):
    """Seals under the ring's current key; opens with whichever ring key a blob names.

    A blob naming a key the ring does not hold makes the cipher reload the ring once (another
    process may have rotated it) before failing with the missing key's id.
    """

    def __init__(self, ring: KeyRing, reload: Callable[[], KeyRing] | None = None) -> None:
        """Use `ring`; `reload` re-reads it from its sources."""
        self.ring = ring
        self._reload = reload

    def encrypt(self, plaintext: bytes) -> tuple[str, bytes]:
        """Seal: nonce (12) + tag (16) + ciphertext; LangGraph's EAX layout for an `aes` key."""
        kid = self.ring.current
        name, key = cipher_name(kid), self.ring.keys[kid]
        if kid == LEGACY_ID:
            cipher = AES.new(key, AES.MODE_EAX)
            ciphertext, tag = cipher.encrypt_and_digest(plaintext)
            return name, cipher.nonce + tag + ciphertext
        nonce = os.urandom(12)
        ciphertext, tag = _gcm_seal(key, nonce, plaintext, name.encode())
        return name, nonce + tag + ciphertext

    def decrypt(self, ciphername: str, ciphertext: bytes) -> bytes:
        """Open a blob with the key its cipher name names, or fail naming that key."""
        kid = self.key_for(ciphername)
        key = self.ring.keys.get(kid)
        if key is None and self._reload is not None:
            self.ring = self._reload()
            key = self.ring.keys.get(kid)
        if key is None:
            raise CheckpointKeyError(
                f"a checkpoint is encrypted under key {kid}, which {self.ring.source} does not "
                f"hold (it holds {', '.join(self.ring.keys)}): restore that key (docs/privacy.md)"
            )
        try:
            if kid == LEGACY_ID:
                cipher = AES.new(key, AES.MODE_EAX, nonce=ciphertext[:16])
                return cipher.decrypt_and_verify(ciphertext[32:], ciphertext[16:32])
            nonce, tag, body = ciphertext[:12], ciphertext[12:28], ciphertext[28:]
            return _gcm_open(key, nonce, body, tag, ciphername.encode())
        except ValueError:
            raise CheckpointKeyError(
                f"a checkpoint blob under key {kid} fails authentication: it was altered, or the "
                "key is not the one it was written with"
            ) from None

    @staticmethod
    def key_for(ciphername: str) -> str:
        """The key id a cipher name refers to (LangGraph's own `aes` is LANGGRAPH_AES_KEY)."""
        if ciphername == LEGACY_ID:
            return LEGACY_ID
        prefix, _, kid = ciphername.partition(":")
        if prefix != CIPHER or not kid:
            raise CheckpointKeyError(f"a blob uses an unknown cipher {ciphername[:40]!r}")
        return kid
