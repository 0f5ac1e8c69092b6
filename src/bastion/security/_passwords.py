"""Argon2id password hashing off the event loop: bounded concurrency, a bounded queue."""

from __future__ import annotations

import math
import secrets
import time
import unicodedata
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, TypeVar

import anyio
import anyio.to_thread

from bastion.core import BastionSettings
from bastion.errors import RateLimitedError, ServiceUnavailableError
from bastion.security._cpus import available_cpus

if TYPE_CHECKING:
    import argon2

_T = TypeVar("_T")

__all__ = ["MAX_PASSWORD_BYTES", "QUEUE_SECONDS", "PasswordHasher", "normalize_password"]

#: The longest password (in UTF-8 bytes) a request may carry: longer ones are refused
#: before any hashing (a megabyte password costs argon2 time and memory for nothing).
MAX_PASSWORD_BYTES = 4096
#: How much waiting, in seconds of the measured hash rate, the default queue holds.
QUEUE_SECONDS = 5.0
# The queue of a hasher whose hash time was never measured, per concurrent hash.
_UNMEASURED_QUEUE = 8


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
    """Argon2id hashing and verification that run in worker threads, with bounded capacity.

    At most `concurrency` hashes run at once; further calls wait their turn
    (`anyio.CapacityLimiter`, first come first served), so a burst of logins
    queues instead of taking every thread and core from the rest of the app.
    The queue is bounded: when `queue_limit` hashes already wait, a call is
    refused at once with 503 `SERVICE_UNAVAILABLE` and a `Retry-After` (a
    login that would wait longer is better answered now than timed out
    later). A call naming its `client` (the client IP) is refused with 429
    `RATE_LIMITED` while that client already has a hash waiting or running,
    so one client never holds more than one place: another client's hash
    waits at most for the ones running. Passwords are NFKC-normalized and
    never truncated (argon2 has no 72-byte limit).
    """

    def __init__(
        self,
        *,
        time_cost: int = 3,
        memory_cost: int = 65536,
        parallelism: int = 4,
        concurrency: int | None = None,
        queue_limit: int | None = None,
    ) -> None:
        """Create the hasher.

        Args:
            time_cost: Argon2id passes.
            memory_cost: Argon2id memory, in KiB.
            parallelism: Argon2id lanes.
            concurrency: Hashes run at once; `None` means the CPUs this process may
                use (`available_cpus`: affinity and cgroup quota) divided by
                `parallelism` (at least 1), since each hash already keeps
                `parallelism` threads busy.
            queue_limit: Hashes that may wait for a place; `None` means
                `QUEUE_SECONDS` of hashing at the rate `warm_up` measures (at least
                `concurrency`), or 8 per place before it measured.
        """
        # argon2 loads with the first hasher built, not with `import bastion`.
        import argon2

        self._argon2: argon2.PasswordHasher = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            type=argon2.Type.ID,
        )
        self.concurrency = concurrency or max(1, available_cpus() // parallelism)
        self._queue_limit = queue_limit
        self._limiter = anyio.CapacityLimiter(self.concurrency)
        self._dummy_hash: str | None = None
        #: Seconds one hash took when `warm_up` measured it (None before).
        self.hash_seconds: float | None = None
        self._pending = 0  # hashes waiting or running
        self._clients: set[str] = set()

    @property
    def queue_limit(self) -> int:
        """Hashes that may wait for a place before further calls are refused with 503."""
        if self._queue_limit is not None:
            return self._queue_limit
        rate = self.rate
        if rate is None:
            return _UNMEASURED_QUEUE * self.concurrency
        return max(self.concurrency, math.ceil(QUEUE_SECONDS * rate))

    @property
    def pending(self) -> int:
        """Hashes waiting for a place or running now."""
        return self._pending

    @property
    def rate(self) -> float | None:
        """Hashes per second this hasher completes at full load (None until measured)."""
        if not self.hash_seconds:
            return None
        return self.concurrency / self.hash_seconds

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
            queue_limit=settings.password_hash_queue,
        )

    async def hash(self, password: str, *, client: str | None = None) -> str:
        """Hash a password with a fresh random salt, in a worker thread.

        Args:
            password: The password.
            client: Who asks (the client IP): one hash at a time per client.

        Returns:
            The encoded argon2id hash (`$argon2id$v=19$m=...`).

        Raises:
            ServiceUnavailableError: The queue is full (503, with `Retry-After`).
            RateLimitedError: `client` already has a hash waiting or running (429).
        """
        return await self._run(partial(self._argon2.hash, normalize_password(password)), client)

    async def verify(self, password_hash: str, password: str, *, client: str | None = None) -> bool:
        """Check a password against a stored hash, in a worker thread.

        Args:
            password_hash: The stored encoded hash.
            password: The password presented.
            client: Who asks (the client IP): one hash at a time per client.

        Returns:
            Whether the password matches; `False` also for a malformed hash.

        Raises:
            ServiceUnavailableError: The queue is full (503, with `Retry-After`).
            RateLimitedError: `client` already has a hash waiting or running (429).
        """
        work = partial(self._verify_sync, password_hash, normalize_password(password))
        return await self._run(work, client)

    async def _run(self, work: Callable[[], _T], client: str | None) -> _T:
        # Admission is decided before the first await: on one event loop, no other
        # call can slip in between the checks and the bookkeeping.
        if client is not None and client in self._clients:
            raise RateLimitedError(
                "A password check from this client is already in progress.",
                headers={"Retry-After": "1"},
                details={"retry_after": 1},
            )
        waiting = self._pending - self.concurrency
        if waiting >= self.queue_limit:
            raise ServiceUnavailableError(
                "Password hashing is at capacity; try again shortly.",
                headers={"Retry-After": str(self._queue_wait(waiting))},
            )
        self._pending += 1
        if client is not None:
            self._clients.add(client)
        try:
            return await anyio.to_thread.run_sync(work, limiter=self._limiter)
        finally:
            self._pending -= 1
            if client is not None:
                self._clients.discard(client)

    def _queue_wait(self, waiting: int) -> int:
        """Whole seconds until a place frees up for a call behind `waiting` others."""
        if self.hash_seconds is None:
            return 1
        return max(1, math.ceil(self.hash_seconds * (waiting + 1) / self.concurrency))

    def _verify_sync(self, password_hash: str, password: str) -> bool:
        from argon2.exceptions import InvalidHashError, VerificationError

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
            started = time.perf_counter()
            self._dummy_hash = await self.hash(secrets.token_urlsafe(32))
            # One hash at the configured parameters: the rate the queue and the
            # default per-client budgets are sized from.
            self.hash_seconds = time.perf_counter() - started
        return self._dummy_hash

    async def verify_dummy(self, password: str, *, client: str | None = None) -> bool:
        """Spend one verification on a constant dummy hash; always `False`.

        Call it when the user is unknown, so the response takes as long as for a
        known user with a wrong password: exactly one `verify` runs either way.
        The dummy hash is made once per hasher, at the configured parameters.

        Args:
            password: The password presented.
            client: Who asks (the client IP), as for `verify`.

        Returns:
            `False`, always.

        Raises:
            ServiceUnavailableError: The queue is full (503, with `Retry-After`).
            RateLimitedError: `client` already has a hash waiting or running (429).
        """
        await self.verify(await self._dummy(), password, client=client)
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
        from argon2.exceptions import InvalidHashError

        try:
            return self._argon2.check_needs_rehash(password_hash)
        except (InvalidHashError, ValueError):
            return True
