"""`RateLimiter`: test, hit, peek and reset keyed budgets on the `limits` async API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Literal

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import (
    FixedWindowRateLimiter,
    MovingWindowRateLimiter,
    SlidingWindowCounterRateLimiter,
)
from limits.aio.strategies import (
    RateLimiter as LimitsStrategy,
)
from limits.errors import StorageError

from bastion.ratelimit._memory import MemorySlidingWindow
from bastion.ratelimit._outage import OutagePolicy
from bastion.ratelimit._result import RateLimitResult
from bastion.ratelimit._window import SlidingWindow

__all__ = ["Limit", "RateLimitResult", "RateLimiter", "Strategy", "parse_limit"]

#: A limit in `limits` notation (`"10/minute"`, `"5 per 30 seconds"`) or a parsed item.
Limit = str | RateLimitItem
#: The counting strategies `limits` offers.
Strategy = Literal["sliding-window-counter", "moving-window", "fixed-window"]

_STRATEGIES: dict[str, type[LimitsStrategy]] = {
    "sliding-window-counter": SlidingWindowCounterRateLimiter,
    "moving-window": MovingWindowRateLimiter,
    "fixed-window": FixedWindowRateLimiter,
}


def _wall_clock() -> float:
    # `time.time` looked up at each call, as `limits` stamps its entries: a clock
    # that tests move (by patching `time.time`) moves both alike.
    return time.time()


def parse_limit(limit: Limit) -> RateLimitItem:
    """Parse a limit in `limits` notation (`"10/minute"`); items pass through.

    Raises:
        ValueError: The string is not a single valid limit.
    """
    if isinstance(limit, RateLimitItem):
        return limit
    return parse(limit)


class RateLimiter:
    """Keyed budgets over a `limits` async storage, with an outage policy.

    Every method takes a limit and the key as arbitrary string parts
    (`"login", "ip", "203.0.113.9"`); the parts are joined under the
    limiter's key prefix, so the same parts mean the same budget in every
    worker sharing the storage. No method blocks the event loop.

    When the storage fails (Redis down) or takes longer than `timeout`, a
    fail-open limiter logs, counts the request in `storage_errors` and answers
    "allowed"; a fail-closed one raises `ServiceUnavailableError` (503). For
    `outage_cooldown` seconds after a failure the storage is not asked again
    (the policy applies at once, so a Redis that hangs does not stall every
    request for its timeout); after that, one call at a time asks it while
    the others still get the policy, until one succeeds: the limiter recovers
    when the storage does, and a storage that still hangs holds one request.
    """

    def __init__(
        self,
        storage: Storage,
        *,
        strategy: Strategy = "sliding-window-counter",
        key_prefix: str = "bastion",
        fail_open: bool = True,
        clock: Callable[[], float] = _wall_clock,
        outage_cooldown: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
        window: SlidingWindow | None = None,
        timeout: float | None = None,
    ) -> None:
        """Create the limiter.

        Args:
            storage: A `limits.aio.storage` instance (memory or Redis).
            strategy: `sliding-window-counter`, `moving-window` or `fixed-window`.
            key_prefix: Namespace of every key (isolates apps sharing one Redis).
            fail_open: Serve on a storage outage (True) or raise 503 (False).
            clock: Epoch seconds; matches the clock `limits` stamps windows with.
            outage_cooldown: Seconds to apply the outage policy without asking
                the storage, after it failed (0: every call asks, none waits
                for another's answer).
            monotonic: The clock of the cooldown and of log throttling.
            window: The sliding window counter's store (`RedisSlidingWindow`);
                by default `MemorySlidingWindow` on a memory storage, and
                `limits`' own strategy on any other.
            timeout: Seconds a storage call may take before it counts as a
                failure (None: no bound; `create_rate_limiter` passes the
                Redis socket timeout).
        """
        if strategy not in _STRATEGIES:
            raise ValueError(f"unknown rate-limit strategy {strategy!r}")
        self.storage = storage
        self.strategy: Strategy = strategy
        self.key_prefix = key_prefix
        self._limiter = _STRATEGIES[strategy](storage)
        # The sliding window counter answers verdict and stats in one call on
        # bastion's own store; `limits`' strategy needs a hit and a stats read.
        if strategy != "sliding-window-counter":
            window = None
        elif window is None and isinstance(storage, MemoryStorage):
            window = MemorySlidingWindow()
        self.window = window
        self._clock = clock
        self._items: dict[str, RateLimitItem] = {}
        self._plans: dict[Limit, _Plan] = {}
        self._monotonic = monotonic
        self.timeout = timeout
        self._outages = OutagePolicy(
            fail_open=fail_open, cooldown=outage_cooldown, monotonic=monotonic
        )
        self._strict: RateLimiter | None = None

    @property
    def fail_open(self) -> bool:
        """Whether an outage answers "allowed" (True) or 503 (False)."""
        return self._outages.fail_open

    @property
    def outage_cooldown(self) -> float:
        """Seconds after a storage failure during which the storage is not asked."""
        return self._outages.cooldown

    @property
    def storage_errors(self) -> int:
        """Calls answered by the outage policy so far (the storage failed or was resting)."""
        return self._outages.errors

    def strict(self) -> RateLimiter:
        """The limiter for security budgets, on this limiter's storage and key prefix.

        It counts exactly, with the moving window (at most the limit in ANY span
        of the window, which a sliding window counter only approximates), and
        fails closed (503 on an outage) whatever `fail_open` says. Built once.
        """
        if self._strict is None:
            self._strict = RateLimiter(
                self.storage,
                strategy="moving-window",
                key_prefix=self.key_prefix,
                fail_open=False,
                clock=self._clock,
                outage_cooldown=self.outage_cooldown,
                monotonic=self._monotonic,
                timeout=self.timeout,
            )
        return self._strict

    async def aclose(self) -> None:
        """Stop what the limiter's stores started (sweep tasks)."""
        if self.window is not None:
            await self.window.aclose()

    def _item(self, limit: Limit) -> RateLimitItem:
        if isinstance(limit, RateLimitItem):
            return limit
        item = self._items.get(limit)
        if item is None:
            item = self._items[limit] = parse_limit(limit)
        return item

    def _plan(self, limit: Limit) -> _Plan:
        plan = self._plans.get(limit)
        if plan is None:
            plan = self._plans[limit] = _Plan(self._item(limit), self.key_prefix)
        return plan

    def _key(self, key: tuple[str, ...]) -> str:
        # One pre-joined identifier: `limits` joins identifiers with "/" too, so the
        # stored key is the same, for a fraction of the per-part escaping work.
        return "/".join((self.key_prefix, *key))

    # `hit`, `test` and `peek` hand back `_apply`'s coroutine rather than awaiting
    # it in one of their own: every limited request calls `hit`, and a coroutine
    # per call layer is most of what a memory hit costs (docs/edge.md).
    def hit(
        self, limit: Limit, *key: str, cost: int = 1, name: str = "default"
    ) -> Coroutine[object, object, RateLimitResult]:
        """Consume `cost` from the budget of `key` if it fits (await it).

        Returns:
            The result; `allowed` is False (nothing consumed) when over the limit.

        Raises:
            ServiceUnavailableError: The storage failed and the limiter fails closed.
        """
        return self._apply(limit, key, cost, name, consume=True)

    def test(
        self, limit: Limit, *key: str, cost: int = 1, name: str = "default"
    ) -> Coroutine[object, object, RateLimitResult]:
        """Whether `cost` more hits would fit, without consuming anything (await it).

        Raises:
            ServiceUnavailableError: The storage failed and the limiter fails closed.
        """
        return self._apply(limit, key, cost, name, consume=False)

    def peek(
        self, limit: Limit, *key: str, name: str = "default"
    ) -> Coroutine[object, object, RateLimitResult]:
        """The window's remaining budget and reset delay, without consuming anything (await it).

        `allowed` is True while at least one more hit fits.

        Raises:
            ServiceUnavailableError: The storage failed and the limiter fails closed.
        """
        return self._apply(limit, key, 1, name, consume=False)

    async def _apply(
        self, limit: Limit, key: tuple[str, ...], cost: int, name: str, *, consume: bool
    ) -> RateLimitResult:
        outages = self._outages
        if not outages.ask():
            return outages.apply(self._item(limit), name, None)
        ok = False
        try:
            if self.timeout is None:  # memory: nothing to wait for, no timer to arm
                result = await self._count(limit, key, cost, name, consume)
            else:
                async with asyncio.timeout(self.timeout):
                    result = await self._count(limit, key, cost, name, consume)
            ok = True
        except (StorageError, TimeoutError) as exc:
            return outages.apply(self._item(limit), name, exc)
        finally:
            outages.settle(ok=ok)
        return result

    async def _count(
        self, limit: Limit, key: tuple[str, ...], cost: int, name: str, consume: bool
    ) -> RateLimitResult:
        if self.window is None:
            item = self._item(limit)
            joined = self._key(key)
            check = self._limiter.hit if consume else self._limiter.test
            allowed = await check(item, joined, cost=cost)
            return await self._result(item, joined, allowed, name)
        plan = self._plan(limit)
        stored = plan.head + "/".join(key) + plan.tail
        allowed, remaining, reset_after = await self.window.hit(
            stored, plan.amount, plan.expiry, cost, consume
        )
        if reset_after == 0.0 and remaining < plan.amount:
            # A window that started this instant reports 0; the truth is a full window.
            reset_after = float(plan.expiry)
        return RateLimitResult(allowed, plan.amount, remaining, reset_after, plan.expiry, name)

    async def reset(self, limit: Limit, *key: str) -> None:
        """Forget the budget of `key` (for example after a successful login).

        Raises:
            ServiceUnavailableError: The storage failed and the limiter fails closed.
        """
        item, outages = self._item(limit), self._outages
        if not outages.ask():
            outages.apply(item, "default", None)
            return
        ok = False
        try:
            async with asyncio.timeout(self.timeout):
                if self.window is None:
                    await self._limiter.clear(item, self._key(key))
                else:
                    plan = self._plan(limit)
                    await self.window.clear(plan.head + "/".join(key) + plan.tail)
                ok = True
        except (StorageError, TimeoutError) as exc:
            outages.apply(item, "default", exc)
        finally:
            outages.settle(ok=ok)

    async def _result(
        self, item: RateLimitItem, key: str, allowed: bool, name: str
    ) -> RateLimitResult:
        stats = await self._limiter.get_window_stats(item, key)
        reset_after = max(0.0, stats.reset_time - self._clock())
        if reset_after == 0.0 and stats.remaining < item.amount:
            # Sliding-window stats report 0 for a window that started this instant
            # (its expiry is a whole multiple of the window); the truth is a full window.
            reset_after = float(item.get_expiry())
        return RateLimitResult(
            allowed=allowed,
            limit=item.amount,
            remaining=max(0, stats.remaining),
            reset_after=reset_after,
            window=item.get_expiry(),
            name=name,
        )


class _Plan:
    """What the one-call sliding window derives from one limit, computed once.

    `head + "/".join(parts) + tail` is the key `limits` itself would use
    (`item.key_for(prefix/parts)`), so a reset through `limits` finds it.
    """

    __slots__ = ("amount", "expiry", "head", "tail")

    def __init__(self, item: RateLimitItem, key_prefix: str) -> None:
        marker = "\x00"
        self.head, self.tail = item.key_for(f"{key_prefix}/{marker}").split(marker)
        self.amount = item.amount
        self.expiry = item.get_expiry()
