"""bastion's memory storage counts exactly like `limits`' own, and sweeps at most once per interval."""

from __future__ import annotations

import asyncio
import time

import pytest
from limits.aio.storage import MemoryStorage

from bastion.ratelimit import RateLimiter
from bastion.ratelimit.memory import MemoryRateLimitStorage
from bastion.ratelimit.storage import close_rate_limiter


@pytest.mark.parametrize("strategy", ["sliding-window-counter", "moving-window", "fixed-window"])
async def test_the_lean_storage_answers_like_the_stock_one(strategy: str) -> None:
    stock = RateLimiter(MemoryStorage(wrap_exceptions=True), strategy=strategy)  # type: ignore[arg-type]
    lean = RateLimiter(MemoryRateLimitStorage(), strategy=strategy)  # type: ignore[arg-type]
    sequence = [("a", 1), ("a", 2), ("b", 1), ("a", 1), ("a", 3), ("b", 4), ("a", 1)]
    try:
        for key, cost in sequence:
            expected = await stock.hit("5/minute", key, cost=cost)
            actual = await lean.hit("5/minute", key, cost=cost)
            assert (actual.allowed, actual.remaining) == (expected.allowed, expected.remaining)
            assert actual.reset_after == pytest.approx(expected.reset_after, abs=1.0)
            peeked = await lean.peek("5/minute", key)
            stock_peek = await stock.peek("5/minute", key)
            assert (peeked.allowed, peeked.remaining) == (stock_peek.allowed, stock_peek.remaining)
            tested = await lean.test("5/minute", key, cost=4)
            assert tested.allowed == (await stock.test("5/minute", key, cost=4)).allowed
    finally:
        await close_rate_limiter(stock)
        await close_rate_limiter(lean)


async def test_expired_counters_are_dropped_on_read() -> None:
    storage = MemoryRateLimitStorage()
    await storage.incr("k", expiry=60)
    storage.expirations["k"] = 0.0  # as if the window ended
    assert await storage.get("k") == 0
    assert "k" not in storage.storage


async def test_the_expiry_sweep_runs_at_most_once_per_interval() -> None:
    storage = MemoryRateLimitStorage(sweep_interval=3600)
    await storage.incr("a", expiry=60)
    first = storage.timer
    await asyncio.sleep(0)  # the sweep task runs and ends
    await storage.incr("b", expiry=60)
    await storage.acquire_sliding_window_entry("c", limit=5, expiry=60)
    assert first is not None
    assert storage.timer is first  # no new sweep within the interval
    assert not await storage.acquire_sliding_window_entry("c", limit=5, expiry=60, amount=6)
    await close_rate_limiter(RateLimiter(storage))


def test_the_stock_hooks_the_lean_storage_overrides_still_exist() -> None:
    # A `limits` upgrade renaming these would silently bring back a sweep per hit.
    assert hasattr(MemoryStorage, "_MemoryStorage__schedule_expiry")
    assert hasattr(MemoryStorage, "_MemoryStorage__expire_events")


def test_memory_counters_warn_when_several_production_workers_would_each_count(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from bastion import BastionSettings
    from bastion.ratelimit import create_rate_limiter

    settings = BastionSettings(
        environment="production", secret_key="p" * 48, configure_logging=False
    )
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    with caplog.at_level("WARNING", logger="bastion.ratelimit"):
        create_rate_limiter(settings)
    assert "4 workers" in caplog.text
    caplog.clear()
    monkeypatch.setenv("WEB_CONCURRENCY", "not-a-number")
    with caplog.at_level("WARNING", logger="bastion.ratelimit"):
        create_rate_limiter(settings)
    assert caplog.text == ""


@pytest.mark.redis
async def test_the_storage_setting_picks_memory_or_a_dedicated_redis(redis_url: str) -> None:
    from limits.aio.storage import RedisStorage

    from tests.edge import clear_redis_keys, edge_app, edge_settings, serve_as

    forced_memory = edge_app(edge_settings(redis_url=redis_url, ratelimit_storage_url="memory://"))
    async with serve_as(forced_memory):
        assert isinstance(forced_memory.state.resources.limiter.storage, MemoryRateLimitStorage)
        assert forced_memory.state.resources.redis is not None
    settings = edge_settings(ratelimit_storage_url=redis_url)
    dedicated = edge_app(settings)
    try:
        async with serve_as(dedicated) as client:
            assert isinstance(dedicated.state.resources.limiter.storage, RedisStorage)
            assert dedicated.state.resources.redis is None
            assert await dedicated.state.resources.limiter.check()
            assert (await client.get("/api/v1/items")).headers["ratelimit-remaining"] == "599"
    finally:
        await clear_redis_keys(redis_url, settings.ratelimit_key_prefix)


async def test_an_unreachable_storage_fails_its_readiness_check() -> None:
    from bastion.ratelimit import RateLimiter

    class Broken(MemoryRateLimitStorage):
        async def check(self) -> bool:
            raise ConnectionError("down")

    assert not await RateLimiter(Broken()).check()


async def test_limits_own_sliding_window_strategy_counts_alike_on_the_lean_storage() -> None:
    from limits import parse
    from limits.aio.strategies import SlidingWindowCounterRateLimiter

    stock = SlidingWindowCounterRateLimiter(MemoryStorage(wrap_exceptions=True))
    lean_storage = MemoryRateLimitStorage()
    lean = SlidingWindowCounterRateLimiter(lean_storage)
    item = parse("3/minute")
    for cost in (1, 2, 1, 3):
        assert await lean.hit(item, "k", cost=cost) == await stock.hit(item, "k", cost=cost)
        stock_stats = await stock.get_window_stats(item, "k")
        lean_stats = await lean.get_window_stats(item, "k")
        assert lean_stats.remaining == stock_stats.remaining
        assert lean_stats.reset_time == pytest.approx(stock_stats.reset_time, abs=1.0)
    await lean.clear(item, "k")
    await stock.clear(item, "k")
    assert await lean.hit(item, "k") == await stock.hit(item, "k")
    assert await lean_storage.reset() == 1
    assert (await lean.get_window_stats(item, "k")).remaining == 3
    if lean_storage.timer is not None:
        lean_storage.timer.cancel()


async def test_sliding_windows_are_forgotten_once_both_their_windows_ended() -> None:
    storage = MemoryRateLimitStorage(sweep_interval=0.01)
    assert await storage.acquire_sliding_window_entry("old", limit=5, expiry=60)
    assert await storage.acquire_sliding_window_entry("new", limit=5, expiry=60)
    index, current, previous, expiry = storage._windows["old"]
    storage._windows["old"] = (index - 2, current, previous, expiry)  # as if 2 windows passed
    assert await storage.get_sliding_window("old", 60) == (0, 0.0, 0, pytest.approx(90, abs=31))
    for _ in range(500):  # the reaper's next sweep, a hundredth of a second away
        if "old" not in storage._windows:
            break
        await asyncio.sleep(0.01)
    assert set(storage._windows) == {"new"}
    await close_rate_limiter(RateLimiter(storage))


@pytest.mark.parametrize("strategy", ["sliding-window-counter", "moving-window", "fixed-window"])
async def test_memory_counters_expire_on_time_without_another_hit(
    strategy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = MemoryRateLimitStorage(sweep_interval=0.01)
    limiter = RateLimiter(storage, strategy=strategy)  # type: ignore[arg-type]
    for n in range(60):
        await limiter.hit("5/minute", "login", f"user{n}")
    await asyncio.sleep(0.1)  # any sweep a hit started runs now, while nothing expired
    assert storage._windows or storage.storage or storage.events
    later = time.time() + 3600  # every window ended long ago; nobody hits again
    monkeypatch.setattr(time, "time", lambda: later)
    try:
        timer = storage.timer
        assert timer is not None
        await asyncio.wait_for(asyncio.shield(timer), timeout=30)  # the reaper ends by itself
        assert not storage._windows
        assert not storage.storage
        assert not storage.events
    finally:
        await close_rate_limiter(limiter)


async def test_the_reaper_restarts_when_counting_resumes() -> None:
    storage = MemoryRateLimitStorage(sweep_interval=0.01)
    limiter = RateLimiter(storage)
    try:
        await limiter.hit("5/second", "k")
        first = storage.timer
        assert first is not None
        await asyncio.wait_for(asyncio.shield(first), timeout=30)  # the window ended: it stops
        await limiter.hit("5/second", "k")
        assert storage.timer is not first
        assert not storage.timer.done()
    finally:
        await close_rate_limiter(limiter)


@pytest.mark.parametrize("elapsed", [60.0, 75.0, 130.0])
async def test_a_sliding_window_rolls_over_like_limits_own(
    elapsed: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hits in one window weigh into the next one (and are forgotten after that) alike."""
    import time

    import bastion.ratelimit.memory

    now = [60.0 * 1_000_000 + 10.0]  # 10 s into a window

    def clock() -> float:
        return now[0]

    monkeypatch.setattr(time, "time", clock)
    monkeypatch.setattr(bastion.ratelimit.memory, "_now", clock)
    stock = RateLimiter(MemoryStorage(wrap_exceptions=True), clock=clock)
    lean = RateLimiter(MemoryRateLimitStorage(), clock=clock)
    try:
        for _ in range(4):
            await stock.hit("5/minute", "k")
            await lean.hit("5/minute", "k")
        now[0] += elapsed
        peeked, stock_peek = await lean.peek("5/minute", "k"), await stock.peek("5/minute", "k")
        assert (peeked.allowed, peeked.remaining) == (stock_peek.allowed, stock_peek.remaining)
        assert peeked.reset_after == pytest.approx(stock_peek.reset_after)
        for _ in range(3):
            expected = await stock.hit("5/minute", "k")
            actual = await lean.hit("5/minute", "k")
            assert (actual.allowed, actual.remaining) == (expected.allowed, expected.remaining)
            assert actual.reset_after == pytest.approx(expected.reset_after)
    finally:
        await close_rate_limiter(stock)
        await close_rate_limiter(lean)


@pytest.mark.redis
async def test_one_round_trip_redis_hits_agree_with_limits_own_strategy(redis_url: str) -> None:
    """bastion's one-script Redis hit and `limits`' two scripts share keys and arithmetic."""
    import uuid

    from limits import parse
    from limits.aio.storage import RedisStorage
    from limits.aio.strategies import SlidingWindowCounterRateLimiter
    from redis.asyncio import Redis

    from bastion.ratelimit.storage import rate_limit_storage

    client = Redis.from_url(redis_url)
    storage = rate_limit_storage(client)
    assert isinstance(storage, RedisStorage)
    ours = RateLimiter(storage, key_prefix=f"agree-{uuid.uuid4().hex}")
    theirs = SlidingWindowCounterRateLimiter(storage)
    item = parse("5/minute")
    key = f"{ours.key_prefix}/k"
    try:
        verdicts = []
        for cost in (1, 2, 1, 2, 1):
            result = await ours.hit(item, "k", cost=cost)
            verdicts.append(result.allowed)
            stats = await theirs.get_window_stats(item, key)
            assert result.remaining == stats.remaining
            expected = stats.reset_time - time.time()
            if expected < 0.05 and stats.remaining < 5:
                expected = 60.0  # a window that started this instant is a full window
            assert result.reset_after == pytest.approx(expected, abs=0.05)
        assert verdicts == [True, True, True, False, True]  # 1 + 2 + 1 fit, 2 more did not, 1 did
        assert result.remaining == 0
        assert await theirs.hit(item, key) is False  # limits sees the same full budget
        await ours.reset(item, "k")
        assert (await theirs.get_window_stats(item, key)).remaining == 5
        assert await theirs.hit(item, key, cost=4)
        peeked = await ours.peek(item, "k")
        assert (peeked.allowed, peeked.remaining) == (True, 1)
        assert not (await ours.test(item, "k", cost=2)).allowed
        assert (await ours.peek(item, "k")).remaining == 1  # testing consumed nothing
    finally:
        await ours.reset(item, "k")
        await client.aclose()


@pytest.mark.redis
async def test_a_redis_window_rolls_over_like_limits_own(redis_url: str) -> None:
    import uuid

    from limits import parse
    from limits.aio.strategies import SlidingWindowCounterRateLimiter
    from redis.asyncio import Redis

    from bastion.ratelimit.storage import rate_limit_storage

    client = Redis.from_url(redis_url)
    storage = rate_limit_storage(client)
    ours = RateLimiter(storage, key_prefix=f"roll-{uuid.uuid4().hex}")
    theirs = SlidingWindowCounterRateLimiter(storage)
    item = parse("3/second")
    key = f"{ours.key_prefix}/k"
    try:
        for _ in range(3):
            await ours.hit(item, "k")
        await asyncio.sleep(1.05)  # into the next window: 3 hits weigh ~95% into it
        peeked = await ours.peek(item, "k")
        assert peeked.remaining == (await theirs.get_window_stats(item, key)).remaining == 1
        assert (await ours.hit(item, "k")).allowed
        assert (await theirs.get_window_stats(item, key)).remaining == 0
        assert not (await ours.hit(item, "k")).allowed
    finally:
        await ours.reset(item, "k")
        await client.aclose()
