"""Request body size limit: early on `Content-Length`, counted for streamed bodies."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.core import PathTable
from bastion.errors import PayloadTooLargeError, render_error
from bastion.middleware._scope_headers import first_headers

if TYPE_CHECKING:
    from bastion.core import BastionSettings

__all__ = ["BodyLimitConfig", "BodyLimitMiddleware"]

_MESSAGE = "The request body is too large."
_HTTP1 = frozenset({"1.0", "1.1"})


class BodyTooLargeError(PayloadTooLargeError, HTTPException):  # type: ignore[misc]  # both define `headers`; the bastion one is used
    """Raised from `receive`.

    An `HTTPException`, because FastAPI re-raises those when met while reading a
    body (anything else becomes a 400); a `PayloadTooLargeError` first, so the
    app's bastion handler renders it, with the same details as the early 413.
    """

    def __init__(self, limit: int) -> None:
        """Over `limit` bytes."""
        # Not the cooperative chain: `HTTPException.__init__` would take the message
        # for a status code. Set both bases' fields directly.
        Exception.__init__(self, _MESSAGE)
        self.message = _MESSAGE
        self.details = {"max_bytes": limit}
        self.headers = {}
        self.detail = _MESSAGE
        self.limit = limit


@dataclass(frozen=True, slots=True)
class BodyLimitConfig:
    """How large a request body may be.

    Attributes:
        max_bytes: The limit for every path without an override (1 MiB).
        routes: `{path_prefix: max_bytes}` overrides, longest prefix wins
            (`{"/api/v1/uploads": 50 * 2**20}`).
    """

    max_bytes: int = 1024 * 1024
    routes: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: BastionSettings) -> BodyLimitConfig:
        """The config the settings describe."""
        return cls(max_bytes=settings.body_limit, routes=dict(settings.body_limit_routes))


def _too_large(limit: int) -> ASGIApp:
    return render_error(
        "PAYLOAD_TOO_LARGE", _MESSAGE, status_code=413, details={"max_bytes": limit}
    )


class BodyLimitMiddleware:
    """Refuse request bodies over the limit with 413 `PAYLOAD_TOO_LARGE`.

    A declared `Content-Length` over the limit is refused before the app runs
    (before routing and authentication). A body without one (chunked) is
    counted as it streams in; the read that crosses the limit fails, and the
    413 is rendered by the app's error handler or, failing that, here. A body
    within its declared length is not counted again: the server enforces it.
    """

    def __init__(self, app: ASGIApp, *, config: BodyLimitConfig | None = None) -> None:
        """Wrap `app`."""
        self.app = app
        self.config = config or BodyLimitConfig()
        self._limits = PathTable(self.config.max_bytes, self.config.routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = first_headers(scope)
        length = headers.get(b"content-length")
        if (
            length is None
            and b"transfer-encoding" not in headers
            and scope.get("http_version", "1.1") in _HTTP1
        ):
            # HTTP/1.x carries a body only with Content-Length or Transfer-Encoding.
            await self.app(scope, receive, send)
            return
        limit = self._limits(scope["path"])
        if length is not None and length.isdigit():
            # A body within its declared length is not counted again: the server enforces it.
            if int(length) > limit:
                await _too_large(limit)(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        await self._counted(scope, receive, send, limit)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Serve a request whose body is counted as it streams in."""
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        def tracking_send(message: Message) -> Awaitable[None]:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            return send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLargeError as exc:
            if started:
                raise
            # The app did not render the 413 itself (FastAPI's handlers do).
            await _too_large(exc.limit)(scope, receive, send)
