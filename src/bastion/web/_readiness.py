"""Run the named readiness checks, each under its own timeout, concurrently."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from bastion._resources import ReadinessCheck, ReadyCheck
from bastion.errors import ServiceUnavailableError

__all__ = ["ReadinessCheck", "ReadyCheck", "run_checks"]

logger = logging.getLogger("bastion.ready")


# Checks given up on at their timeout, kept referenced while they finish cleaning up.
_abandoned: set[asyncio.Future[bool | None]] = set()


def _abandon(task: asyncio.Future[bool | None]) -> None:
    """Cancel `task` without waiting for it: its clean-up may wait on what timed out.

    A check cancelled in a connection to a server that never answers closes that
    connection on its way out, and the close may wait for the server too.
    """
    task.cancel()
    _abandoned.add(task)
    task.add_done_callback(_finished)


def _finished(task: asyncio.Future[bool | None]) -> None:
    _abandoned.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: a failure in the clean-up is not worth a log line


async def _run_one(name: str, entry: ReadinessCheck, default_timeout: float) -> str:
    timeout = entry.timeout if entry.timeout is not None else default_timeout
    task = asyncio.ensure_future(entry.check())
    try:
        done, _ = await asyncio.wait({task}, timeout=timeout)
    except asyncio.CancelledError:  # the probe itself was cancelled
        _abandon(task)
        raise
    if not done:
        _abandon(task)
        logger.warning("readiness check %r timed out after %.3fs", name, timeout)
        return "timeout"
    try:
        result = task.result()
    except TimeoutError:  # the check's own time limit
        logger.warning("readiness check %r timed out", name)
        return "timeout"
    except (OSError, ServiceUnavailableError) as exc:
        # A dependency that is down fails every probe alike: one line, no traceback.
        logger.warning("readiness check %r failed: %s", name, type(exc).__name__)
        return "failed"
    except Exception:
        logger.exception("readiness check %r failed", name)
        return "failed"
    return "failed" if result is False else "ok"


async def run_checks(
    checks: Mapping[str, ReadinessCheck], *, default_timeout: float
) -> dict[str, str]:
    """Run every check concurrently and return each one's outcome.

    Returns:
        `{name: "ok" | "failed" | "timeout"}`, in the checks' order.
    """
    names = list(checks)
    outcomes = await asyncio.gather(
        *(_run_one(name, checks[name], default_timeout) for name in names)
    )
    return dict(zip(names, outcomes, strict=True))
