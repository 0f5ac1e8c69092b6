"""`NoStoreRoute`: a route class whose every response, errors included, is never cached."""

from __future__ import annotations

from collections.abc import Callable, Coroutine

from fastapi import Request, Response
from fastapi.routing import APIRoute

__all__ = ["NoStoreRoute"]

_Handler = Callable[[Request], Coroutine[object, object, Response]]


class NoStoreRoute(APIRoute):
    """A route whose every response, errors included, carries `Cache-Control: no-store`."""

    def get_route_handler(self) -> _Handler:
        """Wrap the handler: render errors through the app's handlers, then add the header."""
        handler = super().get_route_handler()

        async def no_store(request: Request) -> Response:
            try:
                response = await handler(request)
            except Exception as exc:
                render = _exception_handler(request, exc)
                if render is None:
                    raise
                response = await render(request, exc)
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
            return response

        return no_store


def _exception_handler(
    request: Request, exc: Exception
) -> Callable[[Request, Exception], Coroutine[object, object, Response]] | None:
    handlers = request.app.exception_handlers
    for cls in type(exc).__mro__:
        if cls in handlers:
            found: Callable[[Request, Exception], Coroutine[object, object, Response]]
            found = handlers[cls]
            return found
    return None
