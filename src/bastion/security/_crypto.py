"""Key derivation, encryption at rest, opaque tokens and constant-time comparison."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING

from pydantic import SecretStr

from bastion.core import BastionSettings
from bastion.security._errors import DecryptionError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "MIN_TOKEN_BYTES",
    "SecretBox",
    "constant_time_equals",
    "derive_key",
    "generate_token",
    "hash_token",
]

#: The fewest random bytes an opaque token may carry (256 bits).
MIN_TOKEN_BYTES = 32
_NONCE_BYTES = 12
_VERSION = "v1"


def derive_key(secret: SecretStr | str | bytes, purpose: str, *, length: int = 32) -> bytes:
    """Derive an independent key for one purpose from a master secret (HKDF-SHA256).

    Each purpose (`"jwt"`, `"totp-secret"`, `"csrf"`, ...) gets its own key, so a key
    leaked or misused in one place says nothing about the others.

    Args:
        secret: The master secret, usually `settings.secret_key`.
        purpose: A label naming what the key is for; different labels, unrelated keys.
        length: Key length in bytes.

    Returns:
        The derived key.
    """
    # cryptography loads at the first key derived, not with `import bastion`.
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    if isinstance(secret, SecretStr):
        secret = secret.get_secret_value()
    material = secret.encode() if isinstance(secret, str) else secret
    hkdf = HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=_info(purpose))
    return hkdf.derive(material)


def _info(purpose: str) -> bytes:
    return b"bastion/" + purpose.encode()


def constant_time_equals(left: str | bytes, right: str | bytes) -> bool:
    """Compare two secrets in time independent of where they differ.

    Args:
        left: One value (text is compared as UTF-8).
        right: The other value.

    Returns:
        Whether they are equal.
    """
    a = left.encode() if isinstance(left, str) else left
    b = right.encode() if isinstance(right, str) else right
    return hmac.compare_digest(a, b)


def generate_token(nbytes: int = MIN_TOKEN_BYTES) -> str:
    """Generate an opaque, URL-safe random token (refresh tokens, one-time links).

    Args:
        nbytes: Random bytes in the token; at least 32 (256 bits).

    Returns:
        The token, base64url without padding (43 characters for 32 bytes).

    Raises:
        ValueError: If `nbytes` is below 32.
    """
    if nbytes < MIN_TOKEN_BYTES:
        raise ValueError(f"tokens carry at least {MIN_TOKEN_BYTES} random bytes")
    return secrets.token_urlsafe(nbytes)


def hash_token(token: str) -> str:
    """Hash an opaque token for storage and lookup (SHA-256, hex).

    A fast unkeyed hash is enough here: the token has >= 256 bits of entropy, so
    the hash cannot be inverted or guessed, and equal tokens give equal hashes,
    which lets the store find a token with an indexed equality lookup.

    Args:
        token: The token as handed to the client.

    Returns:
        64 hex characters.
    """
    return hashlib.sha256(token.encode()).hexdigest()


class SecretBox:
    """Authenticated encryption at rest (AES-256-GCM) for small secrets such as TOTP seeds.

    Ciphertexts read `v1.<base64url(nonce || ciphertext || tag)>`; the version prefix
    lets a later format or key coexist with this one. `associated_data` (for example
    the user id) binds a ciphertext to its row, so it cannot be copied to another.
    """

    def __init__(self, key: bytes) -> None:
        """Create the box.

        Args:
            key: A 32-byte key (use `derive_key` or `from_settings`).

        Raises:
            ValueError: If the key is not 32 bytes long.
        """
        if len(key) != 32:
            raise ValueError("SecretBox needs a 32-byte key")
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._aead: AESGCM = AESGCM(key)

    @classmethod
    def from_settings(cls, settings: BastionSettings, purpose: str = "totp-secret") -> SecretBox:
        """Build a box whose key is derived from `settings.secret_key` for `purpose`.

        Args:
            settings: The app settings.
            purpose: The key-derivation label; one per kind of secret stored.

        Returns:
            The box.
        """
        return cls(derive_key(settings.secret_key, f"secret-box/{purpose}"))

    def encrypt(self, plaintext: str | bytes, *, associated_data: bytes = b"") -> str:
        """Encrypt and authenticate `plaintext` under a fresh random nonce.

        Args:
            plaintext: The secret (text is encoded as UTF-8).
            associated_data: Context that must match at decryption, not stored.

        Returns:
            The versioned ciphertext, ASCII.
        """
        data = plaintext.encode() if isinstance(plaintext, str) else plaintext
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, data, associated_data)
        return f"{_VERSION}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, ciphertext: str, *, associated_data: bytes = b"") -> bytes:
        """Check and decrypt a ciphertext made by `encrypt`.

        Args:
            ciphertext: The versioned ciphertext.
            associated_data: The same context given to `encrypt`.

        Returns:
            The plaintext bytes.

        Raises:
            DecryptionError: If the ciphertext is malformed, of an unknown version,
                tampered with, under another key or for other associated data.
        """
        version, _, body = ciphertext.partition(".")
        if version != _VERSION:
            raise DecryptionError("unknown ciphertext version")
        try:
            raw = base64.urlsafe_b64decode(body.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
            raise DecryptionError("malformed ciphertext") from exc
        if len(raw) < _NONCE_BYTES + 16:
            raise DecryptionError("malformed ciphertext")
        from cryptography.exceptions import InvalidTag

        try:
            return self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], associated_data)
        except InvalidTag as exc:
            raise DecryptionError("ciphertext failed authentication") from exc

    def decrypt_text(self, ciphertext: str, *, associated_data: bytes = b"") -> str:
        """Like `decrypt`, for a secret that was text.

        Args:
            ciphertext: The versioned ciphertext.
            associated_data: The same context given to `encrypt`.

        Returns:
            The plaintext, decoded from UTF-8.

        Raises:
            DecryptionError: As `decrypt`, or if the plaintext is not UTF-8.
        """
        try:
            return self.decrypt(ciphertext, associated_data=associated_data).decode()
        except UnicodeDecodeError as exc:
            raise DecryptionError("plaintext is not text") from exc
