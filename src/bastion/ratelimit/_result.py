"""`RateLimitResult`: the state of one budget after a test, hit or peek."""

from __future__ import annotations

import math
from typing import NamedTuple

__all__ = ["RateLimitResult"]


class RateLimitResult(NamedTuple):
    """The state of one budget after a test, hit or peek (immutable).

    A named tuple rather than a frozen dataclass: one is built for every
    limited request, and a tuple is built in a third of the time.

    Attributes:
        allowed: Whether the request fits (for `hit`: it was counted).
        limit: The budget per window.
        remaining: Hits left in the current window (never negative).
        reset_after: Seconds until the window frees capacity again (delta, never an epoch).
        window: The window length in seconds.
        name: The policy name reported in the `RateLimit-Policy` header.
        counted: False when the storage was down and the outage policy let the request
            through uncounted: `remaining` is then the whole budget, not a count, and
            no `RateLimit-*` header reports it.
    """

    allowed: bool
    limit: int
    remaining: int
    reset_after: float
    window: int = 0
    name: str = "default"
    counted: bool = True

    @property
    def retry_after(self) -> int:
        """`reset_after` rounded up to whole seconds (at least 1), for `Retry-After`."""
        return max(1, math.ceil(self.reset_after))
