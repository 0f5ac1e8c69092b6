"""`SlidingWindow`: the small interface of bastion's sliding window counters."""

from __future__ import annotations

from typing import Protocol

__all__ = ["SlidingWindow"]


class SlidingWindow(Protocol):
    """A sliding-window-counter budget store (`MemorySlidingWindow`, `RedisSlidingWindow`).

    Each hit answers with its verdict and the window's state in one call, so a
    limited request asks its store once.
    """

    async def hit(
        self, key: str, limit: int, expiry: int, cost: int, consume: bool
    ) -> tuple[bool, int, float]:
        """Count (or, unless `consume`, test) `cost` hits: `(allowed, remaining, reset_after)`.

        Raises:
            limits.errors.StorageError: The store failed.
        """
        ...

    async def clear(self, key: str) -> None:
        """Forget the window of `key`."""
        ...

    async def aclose(self) -> None:
        """Release what the store started (a sweep task); it may not be used after."""
        ...
