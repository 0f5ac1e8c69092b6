"""bastion's memory storage counts exactly like `limits`' own, and sweeps at most once per interval."""

from __future__ import annotations

import asyncio

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


def test_the_stock_hooks_the_lean_storage_overrides_still_exist() -> None:
    # A `limits` upgrade renaming these would silently bring back a sweep per hit.
    assert hasattr(MemoryStorage, "_MemoryStorage__schedule_expiry")
    assert hasattr(MemoryStorage, "_MemoryStorage__expire_events")
