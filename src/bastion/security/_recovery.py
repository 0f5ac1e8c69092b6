"""Single-use MFA recovery codes: generated high-entropy, shown once, stored as keyed hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from bastion.core import BastionSettings
from bastion.security._crypto import derive_key

__all__ = ["RECOVERY_CODE_COUNT", "RecoveryCodeSet", "RecoveryCodes", "normalize_code"]

#: Codes issued per user.
RECOVERY_CODE_COUNT = 10
# Crockford's base32: no I, L, O or U, so codes read aloud or typed are unambiguous.
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_GROUPS, _GROUP_LENGTH = 4, 4  # 16 characters x 5 bits = 80 bits per code
_CONFUSABLE = str.maketrans({"i": "1", "l": "1", "o": "0", "u": "v"})


@dataclass(frozen=True, slots=True)
class RecoveryCodeSet:
    """Freshly generated codes and the hashes to store for them.

    Attributes:
        codes: Show these to the user once, then forget them.
        hashes: Store these (same order); a code is found by its hash.
    """

    codes: list[str]
    hashes: list[str]


class RecoveryCodes:
    """Generates recovery codes and hashes and matches them with a keyed hash.

    Each code carries 80 random bits (`xxxx-xxxx-xxxx-xxxx`). The stored value is
    HMAC-SHA256 under a key derived from the secret key, not argon2: with 80 bits
    of entropy no guessing attack on the hash is feasible, slow hashing would add
    nothing but login latency, and the key means a database dump alone cannot
    even test a guess. The hash is deterministic, so the store finds a code by an
    indexed equality lookup.

    Consuming a code is the caller's job and must be atomic: mark it used with a
    single conditional update (`... SET used_at = now WHERE user_id = :u AND
    code_hash = :h AND used_at IS NULL`) and accept only if one row changed, so a
    code used twice concurrently succeeds once.
    """

    def __init__(self, key: bytes, *, count: int = RECOVERY_CODE_COUNT) -> None:
        """Create the helper.

        Args:
            key: The HMAC key (at least 32 bytes; see `from_settings`).
            count: Codes per set.

        Raises:
            ValueError: If the key is shorter than 32 bytes.
        """
        if len(key) < 32:
            raise ValueError("the recovery-code key must be at least 32 bytes")
        self._key = key
        self.count = count

    @classmethod
    def from_settings(cls, settings: BastionSettings) -> RecoveryCodes:
        """Build the helper with a key derived from `settings.secret_key`.

        Args:
            settings: The app settings.

        Returns:
            The helper.
        """
        return cls(derive_key(settings.secret_key, "recovery-code"))

    def generate(self) -> RecoveryCodeSet:
        """Generate `count` new codes with their hashes.

        Returns:
            The codes (show once) and hashes (store).
        """
        codes = [_new_code() for _ in range(self.count)]
        return RecoveryCodeSet(codes=codes, hashes=[self.hash(code) for code in codes])

    def hash(self, code: str) -> str:
        """Hash a code for storage or lookup (case, dashes and spaces ignored).

        Args:
            code: The code as shown or as typed.

        Returns:
            64 hex characters.
        """
        return hmac.new(self._key, normalize_code(code).encode(), hashlib.sha256).hexdigest()

    def match(self, code: str, hashes: Sequence[str]) -> int | None:
        """Find which stored hash a code matches, comparing against all in constant time.

        Args:
            code: The code presented.
            hashes: The user's unused code hashes.

        Returns:
            The index of the matching hash, or `None`.
        """
        candidate = self.hash(code)
        found: int | None = None
        for index, stored in enumerate(hashes):
            if hmac.compare_digest(candidate.encode(), stored.encode()) and found is None:
                found = index
        return found


def normalize_code(code: str) -> str:
    """Canonical form of a typed code: lower case, no separators, confusables mapped.

    Args:
        code: The code as typed.

    Returns:
        The canonical code.
    """
    kept = "".join(ch for ch in code.lower() if ch not in "- \t")
    return kept.translate(_CONFUSABLE)


def _new_code() -> str:
    groups = (
        "".join(secrets.choice(_ALPHABET) for _ in range(_GROUP_LENGTH)) for _ in range(_GROUPS)
    )
    return "-".join(groups)
