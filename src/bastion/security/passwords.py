"""Argon2id password hashing off the event loop, with bounded concurrency."""

from __future__ import annotations

import os
import secrets
import unicodedata

import anyio
import anyio.to_thread
from argon2 import PasswordHasher as _Argon2Hasher
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError

from bastion.core.settings import BastionSettings

__all__ = ["PasswordHasher", "normalize_password"]


def normalize_password(password: str) -> str:
    """Bring a password to its NFKC form, as NIST SP 800-63B recommends.

    The same password typed on two keyboards (composed or decomposed accents,
    full-width digits) then hashes the same. Nothing is stripped or truncated.

    Args:
        password: The password as typed.

    Returns:
        The normalized password.
    """
    return unicodedata.normalize("NFKC", password)


class PasswordHasher:
    """Argon2id hashing and verification that run in worker threads.

    At most `concurrency` hashes run at once; further calls wait their turn
    (`anyio.CapacityLimiter`), so a burst of logins queues instead of taking every
    thread and core from the rest of the app. Passwords are NFKC-normalized and
    never truncated (argon2 has no 72-byte limit).
    """

    def __init__(
        self,
        *,
        time_cost: int = 3,
        memory_cost: int = 65536,
        parallelism: int = 4,
        concurrency: int | None = None,
    ) -> None:
        """Create the hasher.

        Args:
            time_cost: Argon2id passes.
            memory_cost: Argon2id memory, in KiB.
            parallelism: Argon2id lanes.
            concurrency: Hashes run at once; `None` means the CPU count divided by
                `parallelism` (at least 1), since each hash already keeps
                `parallelism` threads busy.
        """
        self._argon2 = _Argon2Hasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            type=Type.ID,
        )
        self.concurrency = concurrency or max(1, (os.cpu_count() or 1) // parallelism)
        self._limiter = anyio.CapacityLimiter(self.concurrency)
        self._dummy_hash: str | None = None

    @classmethod
    def from_settings(cls, settings: BastionSettings) -> PasswordHasher:
        """Build a hasher with the argon2 parameters and concurrency from settings.

        Args:
            settings: The app settings.

        Returns:
            The hasher.
        """
        return cls(
            time_cost=settings.password_hash_time_cost,
            memory_cost=settings.password_hash_memory_cost,
            parallelism=settings.password_hash_parallelism,
            concurrency=settings.password_hash_concurrency,
        )

    async def hash(self, password: str) -> str:
        """Hash a password with a fresh random salt, in a worker thread.

        Args:
            password: The password.

        Returns:
            The encoded argon2id hash (`$argon2id$v=19$m=...`).
        """
        return await anyio.to_thread.run_sync(
            self._argon2.hash, normalize_password(password), limiter=self._limiter
        )

    async def verify(self, password_hash: str, password: str) -> bool:
        """Check a password against a stored hash, in a worker thread.

        Args:
            password_hash: The stored encoded hash.
            password: The password presented.

        Returns:
            Whether the password matches; `False` also for a malformed hash.
        """
        return await anyio.to_thread.run_sync(
            self._verify_sync, password_hash, normalize_password(password), limiter=self._limiter
        )

    def _verify_sync(self, password_hash: str, password: str) -> bool:
        try:
            return self._argon2.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def warm_up(self) -> None:
        """Make the dummy hash now (for example in the lifespan), not at the first unknown user.

        Otherwise the first `verify_dummy` also pays for one `hash`.
        """
        await self._dummy()

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(secrets.token_urlsafe(32))
        return self._dummy_hash

    async def verify_dummy(self, password: str) -> bool:
        """Spend one verification on a constant dummy hash; always `False`.

        Call it when the user is unknown, so the response takes as long as for a
        known user with a wrong password: exactly one `verify` runs either way.
        The dummy hash is made once per hasher, at the configured parameters.

        Args:
            password: The password presented.

        Returns:
            `False`, always.
        """
        await self.verify(await self._dummy(), password)
        return False

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether a hash was made with other parameters than the current ones.

        Call it after a successful `verify` and store `hash(password)` when it
        says so: hashes follow parameter upgrades at the users' next login.

        Args:
            password_hash: The stored encoded hash.

        Returns:
            Whether the hash should be replaced (also `True` for a malformed hash).
        """
        try:
            return self._argon2.check_needs_rehash(password_hash)
        except (InvalidHashError, ValueError):
            return True
