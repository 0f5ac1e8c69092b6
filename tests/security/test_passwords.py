"""Argon2id hashing: verification, no truncation, rehash, the dummy verify, bounded threads."""

from __future__ import annotations

import asyncio
import threading

import anyio
import pytest

from bastion.core import BastionSettings
from bastion.errors import RateLimitedError, ServiceUnavailableError
from bastion.security import PasswordHasher, available_cpus


@pytest.fixture
def hasher(fast_settings: BastionSettings) -> PasswordHasher:
    return PasswordHasher.from_settings(fast_settings)


class CountingHasher(PasswordHasher):
    """Counts calls to `verify` and `hash`; the real work still happens."""

    def __init__(self, **options: int) -> None:
        super().__init__(**options)
        self.verify_calls = 0
        self.hash_calls = 0

    async def verify(self, password_hash: str, password: str, *, client: str | None = None) -> bool:
        self.verify_calls += 1
        return await super().verify(password_hash, password, client=client)

    async def hash(self, password: str, *, client: str | None = None) -> str:
        self.hash_calls += 1
        return await super().hash(password, client=client)


async def test_the_right_password_verifies_and_a_wrong_one_does_not(
    hasher: PasswordHasher,
) -> None:
    stored = await hasher.hash("correct horse battery staple")
    assert await hasher.verify(stored, "correct horse battery staple")
    assert not await hasher.verify(stored, "correct horse battery stapler")
    assert not await hasher.verify(stored, "")


async def test_hashes_are_argon2id_with_the_configured_parameters_and_a_fresh_salt(
    hasher: PasswordHasher,
) -> None:
    first = await hasher.hash("same password here")
    second = await hasher.hash("same password here")
    assert first.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert first != second


@pytest.mark.parametrize(
    ("prefix", "tail_a", "tail_b"),
    [
        ("a" * 72, "x", "y"),
        ("a" * 100, "first-ending", "second-ending"),
        ("ü" * 40, "1", "2"),  # 80 UTF-8 bytes before the difference
    ],
)
async def test_passwords_differing_only_after_byte_72_do_not_verify_each_other(
    hasher: PasswordHasher, prefix: str, tail_a: str, tail_b: str
) -> None:
    assert len(prefix.encode()) >= 72
    stored_a = await hasher.hash(prefix + tail_a)
    stored_b = await hasher.hash(prefix + tail_b)
    assert not await hasher.verify(stored_a, prefix + tail_b)
    assert not await hasher.verify(stored_b, prefix + tail_a)
    assert await hasher.verify(stored_a, prefix + tail_a)


async def test_unicode_passwords_verify_in_composed_or_decomposed_form(
    hasher: PasswordHasher,
) -> None:
    composed = "caf\u00e9 au lait tous les jours"
    decomposed = "cafe\u0301 au lait tous les jours"
    stored = await hasher.hash(composed)
    assert await hasher.verify(stored, decomposed)


@pytest.mark.parametrize("stored", ["", "not a hash", "$argon2id$v=19$m=1024,t=1,p=1$garbage"])
async def test_a_malformed_stored_hash_never_verifies(hasher: PasswordHasher, stored: str) -> None:
    assert not await hasher.verify(stored, "anything at all")


async def test_needs_rehash_follows_parameter_changes(hasher: PasswordHasher) -> None:
    stored = await hasher.hash("a long enough password")
    assert not hasher.needs_rehash(stored)
    stronger = PasswordHasher(time_cost=2, memory_cost=1024, parallelism=1)
    assert stronger.needs_rehash(stored)
    assert stronger.needs_rehash("not a hash")


async def test_the_dummy_verify_runs_exactly_one_verification_and_never_succeeds() -> None:
    hasher = CountingHasher(time_cost=1, memory_cost=1024, parallelism=1)
    assert await hasher.verify_dummy("whatever was typed") is False
    assert hasher.verify_calls == 1
    assert await hasher.verify_dummy("another try") is False
    assert hasher.verify_calls == 2
    # The dummy hash is made once and reused.
    assert hasher.hash_calls == 1


async def test_warm_up_makes_the_dummy_hash_ahead_of_the_first_unknown_user() -> None:
    hasher = CountingHasher(time_cost=1, memory_cost=1024, parallelism=1)
    await hasher.warm_up()
    await hasher.warm_up()
    assert hasher.hash_calls == 1
    await hasher.verify_dummy("x")
    assert (hasher.hash_calls, hasher.verify_calls) == (1, 1)


async def test_the_dummy_hash_uses_the_configured_parameters() -> None:
    hasher = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    await hasher.verify_dummy("x")
    assert hasher._dummy_hash is not None
    assert not hasher.needs_rehash(hasher._dummy_hash)


def test_parameters_and_concurrency_come_from_settings() -> None:
    settings = BastionSettings(
        environment="test",
        password_hash_time_cost=2,
        password_hash_memory_cost=4096,
        password_hash_parallelism=2,
        password_hash_concurrency=3,
    )
    hasher = PasswordHasher.from_settings(settings)
    assert hasher.concurrency == 3
    assert hasher._argon2.time_cost == 2
    assert hasher._argon2.memory_cost == 4096
    assert hasher._argon2.parallelism == 2


def test_concurrency_defaults_to_the_cores_divided_by_the_lanes_of_one_hash() -> None:
    cores = available_cpus()  # the process's own, not the host's count
    assert PasswordHasher(parallelism=1).concurrency == cores
    assert PasswordHasher(parallelism=2).concurrency == max(1, cores // 2)
    assert PasswordHasher(parallelism=cores * 4).concurrency == 1


class _GateSpy:
    """Wraps the real argon2 hasher and records how many threads are inside at once."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.lock = threading.Lock()
        self.active = 0
        self.peak = 0

    def hash(self, password: str) -> str:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            return self.inner.hash(password)  # type: ignore[attr-defined,no-any-return]
        finally:
            with self.lock:
                self.active -= 1


async def test_no_more_hashes_run_at_once_than_the_concurrency_allows() -> None:
    hasher = PasswordHasher(time_cost=1, memory_cost=2048, parallelism=1, concurrency=2)
    spy = _GateSpy(hasher._argon2)
    hasher._argon2 = spy  # type: ignore[assignment]
    results: list[str] = []

    async def one(index: int) -> None:
        results.append(await hasher.hash(f"password number {index}"))

    async with anyio.create_task_group() as group:
        for index in range(8):
            group.start_soon(one, index)
    assert len(results) == 8
    assert 1 <= spy.peak <= 2


async def test_a_full_queue_refuses_at_once_and_a_client_holds_one_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hasher = PasswordHasher(
        time_cost=1, memory_cost=1024, parallelism=1, concurrency=1, queue_limit=1
    )
    stored = await hasher.hash("the password")
    gate = threading.Event()
    original = PasswordHasher._verify_sync

    def held(self: PasswordHasher, password_hash: str, password: str) -> bool:
        gate.wait(timeout=60)
        return original(self, password_hash, password)

    monkeypatch.setattr(PasswordHasher, "_verify_sync", held)
    try:
        running = asyncio.create_task(hasher.verify(stored, "the password", client="a"))
        waiting = asyncio.create_task(hasher.verify(stored, "the password", client="b"))
        await asyncio.sleep(0)  # both are admitted before their first await
        assert hasher.pending == 2
        with pytest.raises(RateLimitedError):
            await hasher.verify(stored, "a guess", client="a")
        with pytest.raises(ServiceUnavailableError) as full:
            await hasher.verify(stored, "a guess", client="c")
        assert int(full.value.headers["Retry-After"]) >= 1
        gate.set()
        assert await running
        assert await waiting
    finally:
        gate.set()
    assert hasher.pending == 0
    assert await hasher.verify(stored, "the password", client="a")  # its place is free again
