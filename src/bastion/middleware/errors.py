"""The catch-all that turns any unhandled exception into the 500 envelope."""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from bastion.core.errors import BastionError
from bastion.middleware.request_id import route_template
from bastion.middleware.response_state import tracked_send
from bastion.web.responses import error_response, render_error

__all__ = ["ErrorEnvelopeMiddleware"]

logger = logging.getLogger("bastion.errors")


class ErrorEnvelopeMiddleware:
    """Render every exception escaping the inner layers into the envelope; never re-raise.

    Starlette's own `ServerErrorMiddleware` sits outside all user middleware,
    so its 500 would miss the request id and the security headers. This layer
    sits inside them. A `BastionError` raised by inner middleware keeps its own
    status; anything else is a generic 500 `INTERNAL_ERROR`, with the traceback
    logged server-side (the log record carries the request id).
    """

    def __init__(self, app: ASGIApp) -> None:
        """Wrap `app`."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response, app_send = tracked_send(scope, send)
        mark = len(response.header_hooks)
        try:
            await self.app(scope, receive, app_send)
        except Exception as exc:  # the catch-all: logged, rendered, never re-raised
            error = self.render(exc, scope, started=response.started)
            if error is not None:
                response.bypass_inner(mark)
                await error(scope, receive, send)

    @staticmethod
    def render(exc: Exception, scope: Scope, *, started: bool) -> ASGIApp | None:
        """Log `exc`, which escaped the inner layers, and return the response to send.

        Returns:
            The envelope, or None when the response already started (nothing
            more can be sent; the server closes the connection).
        """
        if isinstance(exc, BastionError):
            if started:
                logger.error("error after the response started", exc_info=exc)
                return None
            return error_response(exc)
        # The route template, as on the access line: ids and personal data in the
        # raw path stay out of the logs.
        route = route_template(scope)
        logger.error("unhandled exception in %s %s", scope["method"], route, exc_info=exc)
        if started:
            return None
        return render_error("INTERNAL_ERROR", "An internal error occurred.", status_code=500)
