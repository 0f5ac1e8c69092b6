"""The injectable clock the time-based primitives (JWT, TOTP) read."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["Clock", "system_clock"]

#: Returns the current time as POSIX seconds; tests pass a fixed or stepping one.
Clock = Callable[[], float]


def system_clock() -> float:
    """Return the current time from the system clock, in POSIX seconds.

    Returns:
        Seconds since the epoch.
    """
    return time.time()
