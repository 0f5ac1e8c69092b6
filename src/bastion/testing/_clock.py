"""`ManualClock`: the time source a test moves by hand, for token, session and TOTP expiry."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

__all__ = ["ManualClock"]


class ManualClock:
    """A clock that stands still until the test moves it.

    It starts at the real time, so rows the database stamps itself stay
    comparable, and it only moves forward or backward when told to. The
    `bastion_clock` fixture installs it in the app's auth feature: access and
    MFA tokens, refresh sessions and TOTP steps all read it.

    ```python
    bastion_clock.advance(minutes=16)  # the access token (15 minutes) has expired
    ```
    """

    def __init__(self, start: float | datetime | None = None) -> None:
        """Start at `start` (POSIX seconds or an aware datetime), or at the real time."""
        self._now = time.time()
        if start is not None:
            self.set(start)

    def __call__(self) -> float:
        """The clock's time, in POSIX seconds (what `bastion.security.Clock` returns)."""
        return self._now

    @property
    def now(self) -> datetime:
        """The clock's time as an aware UTC datetime."""
        return datetime.fromtimestamp(self._now, UTC)

    def set(self, when: float | datetime) -> None:
        """Jump to `when`: POSIX seconds, or an aware datetime.

        Raises:
            ValueError: `when` is a naive datetime (its time zone would be a guess).
        """
        if isinstance(when, datetime):
            if when.utcoffset() is None:
                raise ValueError("ManualClock.set needs an aware datetime")
            self._now = when.timestamp()
        else:
            self._now = float(when)

    def advance(
        self,
        seconds: float = 0,
        *,
        minutes: float = 0,
        hours: float = 0,
        days: float = 0,
    ) -> None:
        """Move the clock forward (a negative amount moves it back)."""
        step = timedelta(seconds=seconds, minutes=minutes, hours=hours, days=days)
        self._now += step.total_seconds()
