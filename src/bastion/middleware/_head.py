"""Answer `HEAD` on every `GET` route: the GET's status and headers, without its body."""

from __future__ import annotations

from collections.abc import Awaitable
from functools import partial

from starlette.applications import Starlette
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HeadMiddleware"]


def _served_as_head(scope: Scope) -> bool:
    """Whether a route takes this HEAD request itself (a route naming HEAD, a mounted app)."""
    app = scope.get("app")
    if not isinstance(app, Starlette):
        return True  # not under an app's router: nothing to route it to
    return any(route.matches(scope)[0] is Match.FULL for route in app.routes)


def _bodiless(send: Send, message: Message) -> Awaitable[None]:
    if message["type"] == "http.response.body" and message.get("body"):
        message = {**message, "body": b""}
    return send(message)


class HeadMiddleware:
    """Serve a HEAD request through the GET route of its path, and send no body.

    HTTP asks every resource that answers GET to answer HEAD with the same
    status and headers (RFC 9110, 9.3.2). Starlette's plain routes do; FastAPI's
    API routes serve only the methods they name, so a HEAD would be a 405.
    Here a HEAD request that no route takes as HEAD itself is passed on as a
    GET, and every body message goes out empty: `Content-Length`, `ETag` and
    the rest are the GET's. A route declared for HEAD, and a mounted app, still
    get the HEAD. The layers outside this one see HEAD, so the access line,
    the metrics and the limits name the method the client sent.
    """

    def __init__(self, app: ASGIApp) -> None:
        """Wrap `app`."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http" or scope["method"] != "HEAD" or _served_as_head(scope):
            await self.app(scope, receive, send)
            return
        inner = {**scope, "method": "GET"}
        try:
            await self.app(inner, receive, partial(_bodiless, send))
        finally:
            # The router records the route it matched on the scope it was given; the
            # layers outside read it from theirs (the access line's route template).
            scope.update((key, value) for key, value in inner.items() if key != "method")
