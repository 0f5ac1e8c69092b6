"""Request timeout: a request over its time budget gets 504 `REQUEST_TIMEOUT`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.core import PathTable, request_deadline_var
from bastion.errors import render_error
from bastion.middleware._request_id import route_template

if TYPE_CHECKING:
    from bastion.core import BastionSettings

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

    The budget is an `asyncio.timeout`: the inner app is cancelled at its next
    `await`, and only that cancellation becomes the 504 (one the server
    requested propagates). Work in a worker thread (a sync endpoint or
    dependency) cannot be cancelled: it runs to its end and its result is
    discarded. A cancelled database transaction is rolled back by its
    session's cleanup. If the response had already started, nothing more can
    be sent: the connection is closed.

    The timeout is the request's deadline (`request_deadline_var`): a unit of
    work lifts it when its commit starts (`lift_deadline`), so a COMMIT is
    never cut short and the response that follows it is the real one.
    """

    def __init__(self, app: ASGIApp, *, config: TimeoutConfig | None = None) -> None:
        """Wrap `app`."""
        self.app = app
        self.config = config = config or TimeoutConfig()
        self._budgets = PathTable(config.seconds, config.routes)
        self._fixed = None if config.routes else config.seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        seconds = self._budgets(scope["path"]) if self._fixed is None else self._fixed
        if seconds <= 0:
            await self.app(scope, receive, send)
            return
        started = False

        def tracking_send(message: Message) -> Awaitable[None]:
            nonlocal started
            started = True  # the first message an app sends starts its response
            return send(message)

        try:
            async with asyncio.timeout(seconds) as budget:
                token = request_deadline_var.set(budget)
                try:
                    await self.app(scope, receive, tracking_send)
                finally:
                    request_deadline_var.reset(token)
        except TimeoutError:
            if not budget.expired():
                raise  # the app's own TimeoutError: a bug, for the catch-all
            logger.warning(
                "request exceeded its %.3gs budget: %s %s",
                seconds,
                scope["method"],
                route_template(scope),
            )
            if not started:
                response = render_error(
                    "REQUEST_TIMEOUT",
                    "The request took too long to complete.",
                    status_code=504,
                    details={"timeout_seconds": seconds},
                )
                await response(scope, receive, send)
