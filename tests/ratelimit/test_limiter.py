"""The `RateLimiter` contract, on memory and on real Redis: exact counts, test, peek, reset."""

from __future__ import annotations

import pytest

from bastion.ratelimit import RateLimiter, RateLimitResult, parse_limit
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
        assert await limiter.check()
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
    with pytest.raises(ValueError, match="parse rate limit"):
        edge_app(edge_settings(ratelimit_default="ten per fortnight"))
