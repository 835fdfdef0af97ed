"""Authenticated encryption of plugin secrets under a rotating key ring.

A ciphertext is ``v1.<key_id>.<nonce>.<ciphertext>`` (URL-safe base64), AES-256-GCM with the
tenant and integration as associated data: a ciphertext copied to another tenant's or another
integration's row fails to decrypt. The first key of the ring encrypts; every key decrypts,
so a new key can be put in front and old rows re-encrypted (``megadesk keys rotate``) before
the old key is removed.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from megadesk_core.settings import Settings

_FORMAT = "v1"
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
DEFAULT_KEY_FILE_NAME = "encryption.keys"


class KeyConfigurationError(RuntimeError):
    """The key ring in the settings is missing or malformed. The message says how to fix it."""


class SecretDecryptionError(RuntimeError):
    """A stored secret could not be decrypted: wrong key, unknown key id or tampered row."""


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def generate_key_entry(key_id: str | None = None) -> str:
    """A new ``key_id:base64`` entry for the key ring."""
    key_id = key_id or datetime.now(UTC).strftime("k%Y%m%d%H%M%S")
    return f"{key_id}:{_b64e(AESGCM.generate_key(bit_length=256))}"


def _parse_entries(text: str, source: str) -> list[tuple[str, bytes]]:
    entries: list[tuple[str, bytes]] = []
    # Comment lines go first, whole: a comment may contain a comma, the entry separator.
    lines = [line for line in text.splitlines() if not line.strip().startswith("#")]
    for raw in re.split(r"[,\n]", "\n".join(lines)):
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        key_id, sep, encoded = entry.partition(":")
        if not sep or not _KEY_ID.match(key_id):
            raise KeyConfigurationError(
                f"{source}: each key must look like 'key_id:base64' (key_id of letters, digits, - or _); "
                "generate one with 'megadesk keys generate'"
            )
        try:
            key = _b64d(encoded.strip())
        except ValueError:
            key = b""
        if len(key) != 32:
            raise KeyConfigurationError(
                f"{source}: key {key_id!r} is not 32 bytes of URL-safe base64; "
                "generate one with 'megadesk keys generate'"
            )
        if any(existing == key_id for existing, _ in entries):
            raise KeyConfigurationError(f"{source}: key id {key_id!r} appears twice")
        entries.append((key_id, key))
    return entries


@dataclass(frozen=True)
class KeyRing:
    keys: tuple[tuple[str, bytes], ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeyConfigurationError("the key ring is empty")

    def __repr__(self) -> str:  # never print key material
        return f"KeyRing(key_ids={self.key_ids!r})"

    @property
    def primary_id(self) -> str:
        return self.keys[0][0]

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(key_id for key_id, _ in self.keys)

    @classmethod
    def from_text(cls, text: str, source: str = "key ring") -> KeyRing:
        return cls(tuple(_parse_entries(text, source)))

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRing:
        if settings.encryption_keys is not None:
            return cls.from_text(settings.encryption_keys.get_secret_value(), "MEGADESK_ENCRYPTION_KEYS")
        path = settings.encryption_keys_file or settings.data_dir / DEFAULT_KEY_FILE_NAME
        if not path.is_file():
            raise KeyConfigurationError(
                f"no encryption key configured (looked for {path.resolve()}): run 'megadesk init', which creates "
                "the key file and the database, or set MEGADESK_ENCRYPTION_KEYS or MEGADESK_ENCRYPTION_KEYS_FILE "
                "to a key ring made with 'megadesk keys generate'"
            )
        return cls.from_text(path.read_text(encoding="utf-8"), str(path))

    def _key(self, key_id: str) -> bytes:
        for candidate, key in self.keys:
            if candidate == key_id:
                return key
        raise SecretDecryptionError(
            f"no key with id {key_id!r} in the key ring; add it back to MEGADESK_ENCRYPTION_KEYS"
        )

    @staticmethod
    def _aad(tenant_id: str, integration: str) -> bytes:
        return f"megadesk:{_FORMAT}:{tenant_id}:{integration}".encode()

    def encrypt(self, plaintext: bytes, *, tenant_id: str, integration: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[0][1]).encrypt(nonce, plaintext, self._aad(tenant_id, integration))
        return ".".join((_FORMAT, self.primary_id, _b64e(nonce), _b64e(sealed)))

    def decrypt(self, token: str, *, tenant_id: str, integration: str) -> bytes:
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != _FORMAT:
            raise SecretDecryptionError("stored secret has an unknown format")
        key = self._key(parts[1])
        try:
            return AESGCM(key).decrypt(_b64d(parts[2]), _b64d(parts[3]), self._aad(tenant_id, integration))
        except (InvalidTag, ValueError) as exc:
            raise SecretDecryptionError(
                f"stored secret does not decrypt with key {parts[1]!r}: the key is wrong, or the row "
                "was copied from another tenant or integration"
            ) from exc

    def make_canary(self, key_id: str) -> str:
        """A value encrypted under ``key_id`` that proves, later, that the key is still right."""
        nonce = os.urandom(12)
        sealed = AESGCM(self._key(key_id)).encrypt(nonce, b"megadesk-canary", b"canary")
        return ".".join((_FORMAT, key_id, _b64e(nonce), _b64e(sealed)))

    def check_canary(self, token: str) -> None:
        parts = token.split(".")
        try:
            AESGCM(self._key(parts[1])).decrypt(_b64d(parts[2]), _b64d(parts[3]), b"canary")
        except (InvalidTag, ValueError, IndexError) as exc:
            raise SecretDecryptionError(
                f"encryption key {parts[1]!r} is not the key this database was written with; "
                "restore the right key in MEGADESK_ENCRYPTION_KEYS"
            ) from exc


def write_key_file(path: Path, entry: str | None = None) -> str:
    """Create a key file readable by its owner only; returns the new entry."""
    entry = entry or generate_key_entry()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(f"# Megadesk encryption key ring: newest first. Keep this file secret.\n{entry}\n")
    return entry


def random_token(prefix: str, nbytes: int = 24) -> str:
    return f"{prefix}{secrets.token_urlsafe(nbytes)}"
