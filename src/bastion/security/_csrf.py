"""Signed double-submit CSRF tokens bound to the session."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

from bastion.core import BastionSettings
from bastion.security._crypto import derive_key

__all__ = ["CsrfTokens"]

_NONCE_BYTES = 16


class CsrfTokens:
    """Issues and checks CSRF tokens `<nonce>.<HMAC(key, session id, nonce)>`.

    The token goes in a cookie readable by the page and comes back in the
    `X-CSRF-Token` header. Because it is signed and bound to the session id, an
    attacker who can plant a cookie (a sibling subdomain) still cannot forge one
    that verifies for the victim's session.
    """

    def __init__(self, key: bytes) -> None:
        """Create the helper.

        Args:
            key: The HMAC key (at least 32 bytes; see `from_settings`).

        Raises:
            ValueError: If the key is shorter than 32 bytes.
        """
        if len(key) < 32:
            raise ValueError("the CSRF key must be at least 32 bytes")
        self._key = key

    @classmethod
    def from_settings(cls, settings: BastionSettings) -> CsrfTokens:
        """Build the helper with a key derived from `settings.secret_key`.

        Args:
            settings: The app settings.

        Returns:
            The helper.
        """
        return cls(derive_key(settings.secret_key, "csrf"))

    def _mac(self, session_id: str, nonce: bytes) -> bytes:
        message = b"csrf\x00" + session_id.encode() + b"\x00" + nonce
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def generate(self, session_id: str) -> str:
        """Issue a token for a session.

        Args:
            session_id: The login session the token is bound to.

        Returns:
            The token (URL- and cookie-safe).
        """
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return f"{_b64(nonce)}.{_b64(self._mac(session_id, nonce))}"

    def verify(self, token: str | None, session_id: str) -> bool:
        """Check that a token was issued by this app for this session.

        Args:
            token: The token presented (the header value), or `None` if absent.
            session_id: The session of the request's credentials.

        Returns:
            Whether it is valid; `False` for a missing or malformed token.
        """
        if not token:
            return False
        encoded_nonce, _, encoded_mac = token.partition(".")
        try:
            nonce, mac = _unb64(encoded_nonce), _unb64(encoded_mac)
        except (binascii.Error, ValueError):
            return False
        if len(nonce) != _NONCE_BYTES:
            return False
        return hmac.compare_digest(mac, self._mac(session_id, nonce))

    def verify_double_submit(self, header: str | None, cookie: str | None, session_id: str) -> bool:
        """Check the double submit: header equals cookie, and the token verifies.

        Args:
            header: The `X-CSRF-Token` header value.
            cookie: The CSRF cookie value.
            session_id: The session of the request's credentials.

        Returns:
            Whether the request carries a valid CSRF token.
        """
        if not header or not cookie:
            return False
        same = hmac.compare_digest(header.encode(), cookie.encode())
        return self.verify(header, session_id) and same


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode("ascii") + b"=" * (-len(text) % 4))
