"""Request timeout: a request over its time budget gets 504 `REQUEST_TIMEOUT`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Receive, Scope, Send

from bastion.middleware.paths import PathTable
from bastion.middleware.response_state import tracked_send
from bastion.web.responses import render_error

if TYPE_CHECKING:
    from bastion.core.settings import BastionSettings

__all__ = ["TimeoutConfig", "TimeoutMiddleware"]

logger = logging.getLogger("bastion.timeout")


@dataclass(frozen=True, slots=True)
class TimeoutConfig:
    """How long a request may take.

    Attributes:
        seconds: The budget of every path without an override (0 or less: none).
        routes: `{path_prefix: seconds}` overrides, longest prefix wins
            (`{"/api/v1/exports": 120, "/api/v1/events": 0}`).
    """

    seconds: float = 30.0
    routes: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: BastionSettings) -> TimeoutConfig:
        """The config the settings describe."""
        return cls(seconds=settings.request_timeout, routes=dict(settings.request_timeout_routes))


class TimeoutMiddleware:
    """Cancel a request that runs past its budget and answer 504 `REQUEST_TIMEOUT`.

    The inner app is cancelled at its next `await`. Work in a worker thread (a
    sync endpoint or dependency, `run_in_threadpool`) cannot be cancelled: it
    runs to its end and its result is discarded. A database transaction that
    is cancelled is rolled back by its session's cleanup. If the response had
    already started, nothing more can be sent: the connection is closed.
    """

    def __init__(self, app: ASGIApp, *, config: TimeoutConfig | None = None) -> None:
        """Wrap `app`."""
        self.app = app
        self.config = config or TimeoutConfig()
        self._budgets = PathTable(self.config.seconds, self.config.routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        seconds = self._budgets(scope["path"])
        if seconds <= 0:
            await self.app(scope, receive, send)
            return
        response, app_send = tracked_send(scope, send)
        # A bare timer handle costs less than `asyncio.timeout()`; `uncancel`
        # tells our cancellation apart from one the server (or anyone) requested.
        task = asyncio.current_task()
        assert task is not None  # noqa: S101  # ASGI apps always run in a task
        expired = False

        def expire() -> None:
            nonlocal expired
            expired = True
            task.cancel()

        timer = asyncio.get_running_loop().call_later(seconds, expire)
        try:
            await self.app(scope, receive, app_send)
        except asyncio.CancelledError:
            if not expired or task.uncancel() > 0:
                raise
            route = getattr(scope.get("route"), "path", "<unmatched>")
            logger.warning(
                "request exceeded its %.3gs budget: %s %s", seconds, scope["method"], route
            )
            if response.started:
                return
            error = render_error(
                "REQUEST_TIMEOUT",
                "The request took too long to complete.",
                status_code=504,
                details={"timeout_seconds": seconds},
            )
            await error(scope, receive, send)
        else:
            if expired:  # the app swallowed our cancellation and finished anyway
                task.uncancel()
        finally:
            timer.cancel()
