"""The `RateLimiter` contract, on memory and on real Redis: exact counts, test, peek, reset."""

from __future__ import annotations

import asyncio

import pytest
from limits.aio.storage import MemoryStorage
from limits.errors import StorageError

from bastion.errors import ServiceUnavailableError
from bastion.ratelimit import MemorySlidingWindow, RateLimiter, RateLimitResult, parse_limit
from tests.edge import edge_app, edge_settings, serve_as


@pytest.mark.parametrize("strategy", ["sliding-window-counter", "moving-window", "fixed-window"])
async def test_hits_are_counted_exactly_until_the_budget_is_spent(
    backend: dict[str, object], strategy: str
) -> None:
    app = edge_app(edge_settings(ratelimit_strategy=strategy, **backend))
    async with serve_as(app):
        limiter: RateLimiter = app.state.resources.limiter
        results = [await limiter.hit("3/minute", "login", "alice") for _ in range(5)]
    assert [r.allowed for r in results] == [True, True, True, False, False]
    assert [r.remaining for r in results] == [2, 1, 0, 0, 0]
    assert all(r.limit == 3 and r.window == 60 for r in results)
    assert all(0 < r.reset_after <= 60 for r in results)
    assert results[-1].retry_after >= 1


async def test_the_strict_budgets_lose_no_hit_while_the_memory_storage_sweeps(
    backend: dict[str, object],
) -> None:
    """Hits counted while `limits`' memory storage sweeps ended windows are all kept.

    The sweep of `limits` before 5.3 measured a key's live entries off the
    lock, then cut the list to that length: a hit that landed meanwhile pushed
    the oldest live entry out. A failed-login budget then lost a failure now
    and then (a flaky 100-failure test showed it); the floor is 5.3.
    """
    app = edge_app(edge_settings(**backend))
    async with serve_as(app):
        limiter = app.state.resources.limiter.strict()
        for _ in range(300):
            await limiter.hit("1000/hour", "login-account", "ada")
            await asyncio.sleep(0)  # the event loop turns between requests, and the sweep runs
        left = await limiter.peek("1000/hour", "login-account", "ada")
    assert left.remaining == 700


async def test_test_and_peek_never_consume(backend: dict[str, object]) -> None:
    app = edge_app(edge_settings(**backend))
    async with serve_as(app):
        limiter: RateLimiter = app.state.resources.limiter
        fresh = await limiter.peek("2/minute", "k")
        for _ in range(3):
            assert (await limiter.test("2/minute", "k")).allowed
        await limiter.hit("2/minute", "k")
        would_two = await limiter.test("2/minute", "k", cost=2)
        would_one = await limiter.test("2/minute", "k")
        after = await limiter.peek("2/minute", "k")
    assert fresh == RateLimitResult(allowed=True, limit=2, remaining=2, reset_after=0.0, window=60)
    assert not would_two.allowed
    assert would_one.allowed
    assert after.remaining == 1


async def test_keys_are_isolated_and_reset_forgets_one(backend: dict[str, object]) -> None:
    app = edge_app(edge_settings(**backend))
    async with serve_as(app):
        limiter: RateLimiter = app.state.resources.limiter
        await limiter.hit("1/minute", "login", "alice")
        blocked = await limiter.hit("1/minute", "login", "alice")
        other = await limiter.hit("1/minute", "login", "bob")
        await limiter.reset("1/minute", "login", "alice")
        again = await limiter.hit("1/minute", "login", "alice")
    assert not blocked.allowed
    assert other.allowed
    assert again.allowed


async def test_cost_consumes_several_hits(backend: dict[str, object]) -> None:
    app = edge_app(edge_settings(**backend))
    async with serve_as(app):
        limiter: RateLimiter = app.state.resources.limiter
        first = await limiter.hit("5/minute", "k", cost=3)
        second = await limiter.hit("5/minute", "k", cost=3)
    assert (first.allowed, first.remaining) == (True, 2)
    assert (second.allowed, second.remaining) == (False, 2)


def test_bad_limits_and_strategies_are_refused() -> None:
    with pytest.raises(ValueError, match="parse rate limit"):
        parse_limit("lots")
    with pytest.raises(ValueError, match="strategy"):
        RateLimiter(None, strategy="leaky-bucket")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one rate limit"):  # tests/core: when settings load
        edge_settings(ratelimit_default="ten per fortnight")


class _FlakyWindow(MemorySlidingWindow):
    """The real memory window, which can be switched off like a Redis going away."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.hangs = False
        self.calls = 0

    async def hit(
        self, key: str, limit: int, expiry: int, cost: int, consume: bool
    ) -> tuple[bool, int, float]:
        self.calls += 1
        if self.hangs:  # connected, never answering
            await asyncio.Event().wait()
        if self.down:
            raise StorageError(ConnectionError("storage down"))
        return await super().hit(key, limit, expiry, cost, consume=consume)


@pytest.mark.parametrize("fail_open", [True, False])
async def test_after_an_outage_the_storage_rests_for_the_cooldown_then_is_asked_again(
    fail_open: bool, caplog: pytest.LogCaptureFixture
) -> None:
    now = [1000.0]
    storage = _FlakyWindow()
    limiter = RateLimiter(
        MemoryStorage(wrap_exceptions=True),
        fail_open=fail_open,
        outage_cooldown=5.0,
        monotonic=lambda: now[0],
        window=storage,
    )
    await limiter.hit("2/minute", "k")
    storage.down = True

    async def attempt() -> RateLimitResult | None:
        try:
            return await limiter.hit("2/minute", "k")
        except ServiceUnavailableError:
            return None

    first = await attempt()
    calls = storage.calls
    skipped = [await attempt() for _ in range(3)]
    assert storage.calls == calls  # nothing asked during the cooldown
    now[0] += 5.0
    storage.down = False
    recovered = await limiter.hit("2/minute", "k")
    blocked = await limiter.hit("2/minute", "k")
    assert limiter.storage_errors == 4
    if fail_open:
        assert first is not None
        assert first.allowed
        assert all(r is not None and r.allowed for r in skipped)
    else:
        assert first is None
        assert skipped == [None, None, None]
    assert (recovered.allowed, recovered.remaining) == (True, 0)  # the count survived
    assert not blocked.allowed
    assert caplog.text.count("rate-limit storage unavailable") == 1
    await limiter.aclose()


async def test_a_storage_that_hangs_fails_after_its_timeout_and_one_call_probes_it() -> None:
    now = [1000.0]
    storage = _FlakyWindow()
    limiter = RateLimiter(
        MemoryStorage(wrap_exceptions=True),
        outage_cooldown=5.0,
        monotonic=lambda: now[0],
        window=storage,
        timeout=0.05,
    )
    storage.hangs = True
    first = await limiter.hit("2/minute", "k")  # the timeout ends it: the policy, open
    assert (first.allowed, limiter.storage_errors, storage.calls) == (True, 1, 1)
    now[0] += 5.0  # the cooldown is over; Redis still hangs
    probe = asyncio.ensure_future(limiter.hit("2/minute", "k"))
    await asyncio.sleep(0)  # the probe is waiting on the storage
    others = [await limiter.hit("2/minute", "k") for _ in range(3)]
    assert storage.calls == 2  # only the probe asked
    assert all(r.allowed for r in others)
    assert (await probe).allowed
    now[0] += 5.0
    storage.hangs = False
    answered = [await limiter.hit("2/minute", "k") for _ in range(3)]
    assert storage.calls == 5  # back: every call asks again
    assert [r.allowed for r in answered] == [True, True, False]
    await limiter.aclose()
