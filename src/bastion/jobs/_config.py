"""`JobsConfig`: how outbox rows are dispatched, retried and kept."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["JobsConfig"]


@dataclass(frozen=True, slots=True)
class JobsConfig:
    """Dispatch, retry and retention of outbox rows.

    Attributes:
        max_attempts: Handler runs before a row is dead-lettered.
        retry_base: Seconds before the first retry; each retry waits twice the last.
        retry_max: The longest wait between two attempts, in seconds.
        lease: Seconds a dispatched row waits for its handler before it is
            dispatched again (a worker that died, a job lost with Redis).
        poll_interval: Seconds between two looks at the outbox when idle.
        batch_size: Rows claimed per look.
        concurrency: Rows one arq worker runs at once (each holds a database
            connection while its handler runs: keep it within the pool).
        retention: Seconds delivered rows are kept before maintenance deletes them.
    """

    max_attempts: int = 5
    retry_base: float = 2.0
    retry_max: float = 3600.0
    lease: float = 60.0
    poll_interval: float = 1.0
    batch_size: int = 100
    concurrency: int = 10
    retention: float = 7 * 24 * 3600.0

    def __post_init__(self) -> None:
        """Refuse values that cannot work."""
        if min(self.max_attempts, self.batch_size, self.concurrency) < 1:
            raise ValueError("max_attempts, batch_size and concurrency must be at least 1")
        if min(self.retry_base, self.retry_max, self.lease, self.poll_interval) <= 0:
            raise ValueError("retry_base, retry_max, lease and poll_interval must be above 0")

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failed run."""
        return float(min(self.retry_max, self.retry_base * 2 ** max(0, attempts - 1)))
