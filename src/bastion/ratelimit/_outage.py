"""`OutagePolicy`: what a limiter answers while its storage fails, and when it asks it again."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from limits import RateLimitItem
from limits.errors import StorageError

from bastion.errors import ServiceUnavailableError
from bastion.ratelimit._result import RateLimitResult

__all__ = ["OutagePolicy"]

logger = logging.getLogger("bastion.ratelimit")

# Storage outages are logged at most this often (seconds); every one is counted.
_LOG_EVERY = 10.0


class OutagePolicy:
    """The outage side of one `RateLimiter`: its counts, its answers, its cooldown.

    While the storage answers, every call asks it. After a failure, no call asks it for
    `cooldown` seconds; then one call at a time does (`ask` says which), while the others
    get the policy, until one gets an answer. A cooldown of 0 lets every call ask.

    Args:
        fail_open: Answer "allowed" on an outage (True) or raise 503 (False).
        cooldown: Seconds after a failure during which the storage is not asked.
        monotonic: The clock of the cooldown and of log throttling.
    """

    def __init__(self, *, fail_open: bool, cooldown: float, monotonic: Callable[[], float]) -> None:
        """Start with a storage that answers."""
        self.fail_open = fail_open
        self.cooldown = cooldown
        self.errors = 0
        self._monotonic = monotonic
        self._down_until = -math.inf  # -inf while the storage answers
        self._probing = False  # a call is asking a storage that failed
        self._last_log = -math.inf

    def ask(self) -> bool:
        """Whether this call asks the storage (then `settle` must follow its answer)."""
        if self._down_until == -math.inf or self.cooldown == 0:
            return True
        if self._probing or self._down_until > self._monotonic():
            return False
        self._probing = True  # the cooldown is over: this call finds out
        return True

    def settle(self, *, ok: bool) -> None:
        """Record how a call that asked the storage ended (`ok`: it answered)."""
        if ok:
            self._down_until = -math.inf
        self._probing = False

    def apply(self, item: RateLimitItem, name: str, exc: Exception | None) -> RateLimitResult:
        """Count, log and answer an outage; `exc` is None when the storage was not asked.

        Raises:
            ServiceUnavailableError: The policy fails closed (503, `Retry-After: 1`).
        """
        self.errors += 1
        now = self._monotonic()
        if exc is not None:
            self._down_until = now + self.cooldown
            if now - self._last_log >= _LOG_EVERY:
                self._last_log = now
                logger.warning(
                    "rate-limit storage unavailable (%s); failing %s (%d errors so far)",
                    type(exc.storage_error if isinstance(exc, StorageError) else exc).__name__,
                    "open" if self.fail_open else "closed",
                    self.errors,
                )
        if not self.fail_open:
            raise ServiceUnavailableError(
                "Rate limiting is temporarily unavailable.", headers={"Retry-After": "1"}
            ) from exc
        return RateLimitResult(
            allowed=True,
            limit=item.amount,
            remaining=item.amount,
            reset_after=float(item.get_expiry()),
            window=item.get_expiry(),
            name=name,
            counted=False,
        )
