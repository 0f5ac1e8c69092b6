"""bastion's sliding window counters count exactly like `limits`' own strategy, memory and Redis."""

from __future__ import annotations

import asyncio
import time

import pytest
from limits.aio.storage import MemoryStorage

from bastion.ratelimit import (
    MemorySlidingWindow,
    RateLimiter,
    RedisSlidingWindow,
    close_rate_limiter,
    rate_limit_storage,
)


@pytest.mark.parametrize("strategy", ["sliding-window-counter", "moving-window", "fixed-window"])
async def test_the_memory_window_answers_like_limits_own_strategy(strategy: str) -> None:
    stock = RateLimiter(MemoryStorage(wrap_exceptions=True), strategy=strategy)  # type: ignore[arg-type]
    stock.window = None  # `limits`' strategy on its own storage
    lean = RateLimiter(rate_limit_storage(None), strategy=strategy)  # type: ignore[arg-type]
    assert isinstance(lean.window, MemorySlidingWindow) == (strategy == "sliding-window-counter")
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
        await lean.reset("5/minute", "a")
        assert (await lean.peek("5/minute", "a")).remaining == 5
    finally:
        await close_rate_limiter(stock)
        await close_rate_limiter(lean)


async def test_one_reaper_runs_while_windows_are_held() -> None:
    window = MemorySlidingWindow(sweep_interval=3600)
    assert (await window.hit("a", 5, 60, 1, consume=True))[0]
    first = window.reaper
    assert (await window.hit("b", 5, 60, 1, consume=True))[0]
    assert first is not None
    assert window.reaper is first  # no second sweep task
    assert not (await window.hit("c", 5, 60, 6, consume=True))[0]
    await window.aclose()
    assert window.reaper is None
    assert first.cancelled()
    with pytest.raises(ValueError, match="sweep_interval"):
        MemorySlidingWindow(sweep_interval=0)


async def test_the_memory_storage_keeps_its_expiry_task_where_shutdown_stops_it() -> None:
    # `close_rate_limiter` cancels `limits`' memory storage's expiry task through
    # its public `timer` attribute; a `limits` upgrade moving it would leak the task.
    limiter = RateLimiter(rate_limit_storage(None), strategy="moving-window")
    await limiter.hit("5/minute", "k")
    await asyncio.sleep(0)
    timer = getattr(limiter.storage, "timer", None)
    assert isinstance(timer, asyncio.Task)
    await close_rate_limiter(limiter)
    assert timer.done()


def test_memory_counters_warn_when_several_production_workers_would_each_count(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from bastion.core import BastionSettings
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
        assert isinstance(forced_memory.state.resources.limiter.storage, MemoryStorage)
        assert isinstance(forced_memory.state.resources.limiter.window, MemorySlidingWindow)
        assert forced_memory.state.resources.redis is not None
    settings = edge_settings(ratelimit_storage_url=redis_url)
    dedicated = edge_app(settings)
    try:
        async with serve_as(dedicated) as client:
            assert isinstance(dedicated.state.resources.limiter.storage, RedisStorage)
            assert isinstance(dedicated.state.resources.limiter.window, RedisSlidingWindow)
            assert dedicated.state.resources.redis is None
            assert (await client.get("/api/v1/items")).headers["ratelimit-remaining"] == "599"
    finally:
        await clear_redis_keys(redis_url, settings.ratelimit_key_prefix)


async def test_sliding_windows_are_forgotten_once_both_their_windows_ended() -> None:
    window = MemorySlidingWindow(sweep_interval=0.01)
    assert (await window.hit("old", 5, 60, 1, consume=True))[0]
    assert (await window.hit("new", 5, 60, 1, consume=True))[0]
    index, current, previous, expiry = window.windows["old"]
    window.windows["old"] = (index - 2, current, previous, expiry)  # as if 2 windows passed
    assert await window.hit("old", 5, 60, 1, consume=False) == (True, 5, 0.0)
    for _ in range(500):  # the reaper's next sweep, a hundredth of a second away
        if "old" not in window.windows:
            break
        await asyncio.sleep(0.01)
    assert set(window.windows) == {"new"}
    await window.aclose()


async def test_memory_windows_expire_on_time_without_another_hit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = MemorySlidingWindow(sweep_interval=0.01)
    limiter = RateLimiter(MemoryStorage(wrap_exceptions=True), window=window)
    for n in range(60):
        await limiter.hit("5/minute", "login", f"user{n}")
    await asyncio.sleep(0.1)  # the reaper sweeps now, while nothing expired
    assert len(window.windows) == 60
    later = time.time() + 3600  # every window ended long ago; nobody hits again
    monkeypatch.setattr(time, "time", lambda: later)
    try:
        reaper = window.reaper
        assert reaper is not None
        await asyncio.wait_for(asyncio.shield(reaper), timeout=30)  # the reaper ends by itself
        assert not window.windows
    finally:
        await close_rate_limiter(limiter)


async def test_the_reaper_restarts_when_counting_resumes() -> None:
    window = MemorySlidingWindow(sweep_interval=0.01)
    limiter = RateLimiter(MemoryStorage(wrap_exceptions=True), window=window)
    try:
        await limiter.hit("5/second", "k")
        first = window.reaper
        assert first is not None
        await asyncio.wait_for(asyncio.shield(first), timeout=30)  # the window ended: it stops
        await limiter.hit("5/second", "k")
        assert window.reaper is not None
        assert window.reaper is not first
        assert not window.reaper.done()
    finally:
        await close_rate_limiter(limiter)


@pytest.mark.parametrize("elapsed", [60.0, 75.0, 130.0])
async def test_a_sliding_window_rolls_over_like_limits_own(
    elapsed: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hits in one window weigh into the next one (and are forgotten after that) alike."""
    now = [60.0 * 1_000_000 + 10.0]  # 10 s into a window

    def clock() -> float:
        return now[0]

    monkeypatch.setattr(time, "time", clock)
    stock = RateLimiter(MemoryStorage(wrap_exceptions=True), clock=clock)
    stock.window = None  # `limits`' strategy on its own storage
    lean = RateLimiter(MemoryStorage(wrap_exceptions=True), clock=clock)
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

    client = Redis.from_url(redis_url)
    storage = rate_limit_storage(client)
    assert isinstance(storage, RedisStorage)
    ours = RateLimiter(
        storage, key_prefix=f"agree-{uuid.uuid4().hex}", window=RedisSlidingWindow(client)
    )
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

    client = Redis.from_url(redis_url)
    storage = rate_limit_storage(client)
    ours = RateLimiter(
        storage, key_prefix=f"roll-{uuid.uuid4().hex}", window=RedisSlidingWindow(client)
    )
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
