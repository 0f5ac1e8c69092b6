"""`JobsWorker`: an arq worker that relays the outbox, runs its rows and prunes on a schedule."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import warnings
from signal import Signals
from types import TracebackType
from typing import Self, cast

from arq import ArqRedis, Worker, cron, func
from redis.exceptions import RedisError

from bastion._redis_client import redis_client_options
from bastion._resources import Resources
from bastion.jobs._maintenance import prune
from bastion.jobs._relay import Dispatch, OutboxRelay

__all__ = ["DELIVER_JOB", "MAINTENANCE_JOB", "JobsWorker"]

#: The arq function that runs one outbox row.
DELIVER_JOB = "bastion.deliver"
#: The arq cron job that runs `prune`.
MAINTENANCE_JOB = "bastion.maintenance"
#: Minutes of the hour `prune` runs at.
_MAINTENANCE_MINUTES = set(range(0, 60, 10))
# Seconds between two starts of arq's loop while Redis is down, and between two log lines.
_RESTART_DELAY = 1.0
_LOG_EVERY = 30.0
# Seconds closing may take: arq removes its health key, which a hung Redis never confirms.
_CLOSE_TIMEOUT = 5.0

logger = logging.getLogger("bastion.jobs")


class JobsWorker:
    """One arq worker process's share of the work, on the app's running resources.

    It relays the outbox (claims due rows and enqueues one arq job per row,
    with the row id and attempt as the job id, so arq drops a second copy),
    runs those jobs (each delivers its row: see `OutboxRelay.deliver`), and
    runs `prune` every ten minutes as an arq cron job (unique per tick across
    workers). Run as many as needed, on as many hosts: rows are claimed with
    `FOR UPDATE SKIP LOCKED` and delivered under a row lock.

    ```python
    async with JobsWorker(resources) as worker:
        await worker.run()
    ```

    Args:
        resources: The app's resources, inside its lifespan (`bastion worker` does this).
        burst: Stop once the queue is empty (tests, one-off runs).
        handle_signals: Let arq stop gracefully on SIGINT/SIGTERM.
    """

    def __init__(
        self, resources: Resources, *, burst: bool = False, handle_signals: bool = True
    ) -> None:
        """Prepare the worker; Redis is connected on `async with`."""
        jobs, redis_url = resources.jobs, resources.settings.redis_url
        if jobs is None:
            raise RuntimeError("the app has no jobs: pass `create_app(..., jobs=Jobs(...))`")
        if redis_url is None:
            raise RuntimeError("`bastion worker` needs BASTION_REDIS_URL (arq runs on Redis)")
        self.resources = resources
        self.relay = OutboxRelay(jobs, resources)
        self._config = jobs.config
        self._redis_url = redis_url.get_secret_value()
        self._burst = burst
        self._handle_signals = handle_signals
        self._pool: ArqRedis | None = None
        self._worker: Worker | None = None

    async def __aenter__(self) -> Self:
        """Build the arq worker and its Redis client (connections open on first use).

        The client has the app's Redis timeouts and retry: a Redis that hangs
        fails a command after `BASTION_REDIS_SOCKET_TIMEOUT`, never holds it.
        """
        options = redis_client_options(self.resources.settings)
        # No health-check PING ahead of commands: on a fresh connection to a Redis that
        # accepts but never answers, redis-py reconnects from inside the failed PING, one
        # level deeper each time, until the recursion limit; and arq's calls, unlike the
        # app's, run under no deadline of their own. A cut connection is still retried.
        options["health_check_interval"] = 0
        self._pool = cast(ArqRedis, ArqRedis.from_url(self._redis_url, **options))
        relay, resources = self.relay, self.resources

        async def deliver(ctx: dict[str, object], row_id: str) -> bool:
            return await relay.deliver(uuid.UUID(row_id))

        async def maintenance(ctx: dict[str, object]) -> dict[str, int]:
            return await prune(resources)

        self._worker = Worker(
            functions=[func(deliver, name=DELIVER_JOB, max_tries=1)],
            cron_jobs=[cron(maintenance, name=MAINTENANCE_JOB, minute=_MAINTENANCE_MINUTES)],
            redis_pool=self._pool,
            burst=self._burst,
            handle_signals=self._handle_signals,
            # Retries are the outbox's (backoff, dead letter), not arq's.
            max_tries=1,
            # Nothing reads a job's result, and a kept one would make arq drop the
            # same row and attempt sent again (its lease ended after a run that
            # could record nothing, the database being down) until it expired.
            keep_result=0,
            max_jobs=self._config.concurrency,
            # arq starts queued jobs once per poll: the delay bounds a worker's rate.
            poll_delay=0.02,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the worker and the Redis pool."""
        if self._worker is not None:
            with warnings.catch_warnings():
                # arq closes its pool with redis-py's `close()`, deprecated for `aclose()`.
                warnings.filterwarnings(
                    "ignore", "Call to deprecated close", category=DeprecationWarning
                )
                try:
                    await asyncio.wait_for(self._worker.close(), _CLOSE_TIMEOUT)
                except (RedisError, OSError) as exc:  # TimeoutError included
                    # Redis is down: arq could not remove its health key, which expires.
                    logger.warning("the job worker stopped without Redis (%s)", type(exc).__name__)
            main = self._worker.main_task
            if main is not None:  # arq's loop, cancelled by `run`: let it finish, bounded
                await _stop(main)
                if main.done() and not main.cancelled():
                    main.exception()  # retrieved: its outage was logged already
        if self._pool is not None:
            await self._pool.aclose()

    @property
    def dispatch(self) -> Dispatch:
        """Enqueue one claimed row as an arq job (what the relay calls)."""
        pool = self._pool
        if pool is None:
            raise RuntimeError("enter the worker first: `async with JobsWorker(...)`")

        async def enqueue(row_id: uuid.UUID, attempts: int) -> None:
            await pool.enqueue_job(DELIVER_JOB, str(row_id), _job_id=f"{row_id}:{attempts}")

        return enqueue

    async def run(self) -> None:
        """Relay and run jobs until stopped (or, in burst mode, until the queue is empty).

        Stopped by SIGTERM or SIGINT (arq's handlers, unless `handle_signals` is
        off) or by cancelling the task. A Redis outage does not stop it: arq's
        loop starts again once Redis answers, and the relay leaves rows in the
        outbox meanwhile.
        """
        worker, pool = self._worker, self._pool
        if worker is None or pool is None:
            raise RuntimeError("enter the worker first: `async with JobsWorker(...)`")
        if self._burst:
            await self.relay.run_once(self.dispatch)
            await worker.main()
            return
        relay = asyncio.create_task(self.relay.run(self.dispatch), name="bastion-outbox-relay")
        try:
            await self._serve(worker, pool)
        finally:
            await _stop(relay)

    async def _serve(self, worker: Worker, pool: ArqRedis) -> None:
        """Arq's loop, started again after Redis failed it, until a signal or a cancel stops it."""
        stopped = asyncio.Event()

        def on_stop(_signal: Signals) -> None:
            stopped.set()

        worker.on_stop = on_stop
        stopping = asyncio.create_task(stopped.wait())
        logged = -_LOG_EVERY
        pause = 0.0  # before arq's loop starts again, once Redis answers
        try:
            while True:
                started = time.monotonic()
                # arq's signal handler cancels the task it finds here.
                main = worker.main_task = asyncio.ensure_future(worker.main())
                if not await _before_stop(main, stopping) or stopped.is_set() or main.cancelled():
                    return
                error = main.exception()
                if error is None:
                    return
                # A connection error in a WATCH is a WatchError: every RedisError counts.
                if not isinstance(error, RedisError | OSError):
                    raise error
                # A loop that failed soon after it started, with Redis answering (a key of
                # the wrong type, a read-only replica, a full memory), waits twice as
                # long each time, up to `_LOG_EVERY`; one that ran longer, not at all.
                quick = time.monotonic() - started < _LOG_EVERY
                pause = min(max(2 * pause, _RESTART_DELAY), _LOG_EVERY) if quick else 0.0
                # Arq's loop starts again once Redis answers a PING, not at every attempt
                # to reach it: each start is a line of arq's log.
                while error is not None:
                    if time.monotonic() - logged >= _LOG_EVERY:
                        logged = time.monotonic()
                        logger.warning(
                            "the job worker lost Redis (%s: %s); it starts again when Redis answers",
                            type(error).__name__,
                            error,
                        )
                    await asyncio.wait({stopping}, timeout=_RESTART_DELAY)
                    if stopped.is_set():
                        return
                    ping = asyncio.ensure_future(_ping(pool))
                    if not await _before_stop(ping, stopping):
                        return
                    error = ping.result()
                if pause > _RESTART_DELAY:  # the rest of the pause, after the first PING's wait
                    await asyncio.wait({stopping}, timeout=pause - _RESTART_DELAY)
                    if stopped.is_set():
                        return
        finally:
            stopping.cancel()
            if worker.main_task is not None:
                worker.main_task.cancel()


async def _before_stop(task: asyncio.Task[object], stopping: asyncio.Task[object]) -> bool:
    """Wait for `task` until `stopping` ends; False, `task` cancelled, if the stop came first.

    `task` is not awaited: a cancellation of the caller is not handed to it (arq's
    loop can lose one in a Redis call's clean-up and poll on); it is cancelled.
    """
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if task.done():
        return True
    task.cancel()
    return False


async def _ping(pool: ArqRedis) -> RedisError | OSError | None:
    """What a PING to `pool`'s Redis fails with, or None when Redis answers."""
    try:
        await pool.ping()
    except (RedisError, OSError) as exc:
        return exc
    return None


async def _stop(task: asyncio.Task[None]) -> None:
    """Cancel `task` and give it `_CLOSE_TIMEOUT` seconds to finish."""
    task.cancel()
    await asyncio.wait({task}, timeout=_CLOSE_TIMEOUT)
