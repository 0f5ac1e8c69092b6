"""`NoStoreRoute`: a route whose every response, errors included, is never cached."""

from __future__ import annotations

from fastapi.routing import APIRoute
from starlette.datastructures import MutableHeaders
from starlette.types import Message, Receive, Scope, Send

__all__ = ["NoStoreRoute"]


class NoStoreRoute(APIRoute):
    """A route whose every response carries `Cache-Control: no-store` and `Pragma: no-cache`.

    The headers are added to the response as it is sent, whoever rendered it:
    the endpoint, or the app's exception handlers for an error raised by the
    endpoint, a dependency or request validation. Nothing is caught here, so an
    error still leaves the route as an error and the request's unit of work
    rolls back.
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request, marking its response start as not to be stored."""

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Cache-Control"] = "no-store"
                headers["Pragma"] = "no-cache"
            await send(message)

        await super().handle(scope, receive, send_no_store)
