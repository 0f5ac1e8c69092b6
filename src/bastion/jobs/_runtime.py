"""Jobs inside the app's lifespan: where rows are dispatched from."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from bastion.jobs._registry import Jobs
from bastion.jobs._relay import OutboxRelay

if TYPE_CHECKING:
    from bastion._resources import Resources

__all__ = ["start_jobs"]

logger = logging.getLogger("bastion.jobs")

# Seconds shutdown waits for the rows being delivered in this process.
_STOP_TIMEOUT = 10.0


@asynccontextmanager
async def start_jobs(jobs: Jobs, resources: Resources) -> AsyncIterator[None]:
    """Put `jobs` on the resources and, without Redis, dispatch rows in this process.

    With `BASTION_REDIS_URL` set, the app only writes rows: `bastion worker`
    processes dispatch and run them. Without it, a task of this process
    dispatches each committed row to its handler at once (and looks again every
    poll interval), which suits development and tests, not production: the
    work then competes with requests, and stops with the process.
    """
    resources.jobs = jobs
    if resources.settings.redis_url is not None:
        yield
        return
    if resources.settings.is_production:
        logger.warning(
            "jobs run inside the app process because BASTION_REDIS_URL is not set; "
            "run `bastion worker` against Redis in production"
        )
    relay = OutboxRelay(jobs, resources)
    wake = asyncio.Event()

    async def deliver(row_id: uuid.UUID, attempts: int) -> None:
        await relay.deliver(row_id)

    stop = asyncio.Event()
    jobs.wakers.append(wake.set)
    task = asyncio.create_task(
        relay.run(deliver, wake=wake, stop=stop), name="bastion-outbox-relay"
    )
    try:
        yield
    finally:
        jobs.wakers.remove(wake.set)
        # Let the rows in hand finish their transactions; what is left waits in the outbox.
        stop.set()
        wake.set()
        try:
            await asyncio.wait_for(task, _STOP_TIMEOUT)
        except TimeoutError:
            logger.warning("the outbox dispatcher did not stop within %.0f s", _STOP_TIMEOUT)
