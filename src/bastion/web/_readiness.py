"""Run the named readiness checks, each under its own timeout, concurrently."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from bastion._resources import ReadinessCheck, ReadyCheck
from bastion.errors import ServiceUnavailableError

__all__ = ["ReadinessCheck", "ReadyCheck", "run_checks"]

logger = logging.getLogger("bastion.ready")


async def _run_one(name: str, entry: ReadinessCheck, default_timeout: float) -> str:
    timeout = entry.timeout if entry.timeout is not None else default_timeout
    try:
        async with asyncio.timeout(timeout):
            result = await entry.check()
    except TimeoutError:
        logger.warning("readiness check %r timed out after %.3fs", name, timeout)
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
