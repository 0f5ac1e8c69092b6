"""Request body size limit: early on `Content-Length`, counted for streamed bodies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.core.errors import PayloadTooLargeError
from bastion.middleware.paths import PathTable
from bastion.middleware.response_state import tracked_send
from bastion.web.responses import render_error

if TYPE_CHECKING:
    from bastion.core.settings import BastionSettings

__all__ = ["BodyLimitConfig", "BodyLimitMiddleware"]

_MESSAGE = "The request body is too large."
_NO_BODY = frozenset({"1.0", "1.1"})


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


def too_large(limit: int) -> ASGIApp:
    """The 413 `PAYLOAD_TOO_LARGE` answer for a body over `limit` bytes."""
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
        refusal, limit = self.inspect(scope, dict(scope["headers"]))
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        if limit is None:
            await self.app(scope, receive, send)
            return
        response, app_send = tracked_send(scope, send)
        mark = len(response.header_hooks)
        try:
            await self.app(scope, self.counting(receive, limit), app_send)
        except BodyTooLargeError as exc:
            if response.started:
                raise
            response.bypass_inner(mark)
            await too_large(exc.limit)(scope, receive, send)

    def inspect(
        self, scope: Scope, headers: Mapping[bytes, bytes]
    ) -> tuple[ASGIApp | None, int | None]:
        """What the limit does with a request with these (raw) `headers`.

        Returns:
            `(413 answer, None)` when the declared length is over the limit;
            `(None, limit)` when a body without a declared length must be
            counted as it streams in (`counting`); `(None, None)` otherwise.
        """
        length = headers.get(b"content-length")
        declared: int | None = None
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = None
        if declared is None:
            if b"transfer-encoding" not in headers and scope.get("http_version", "1.1") in _NO_BODY:
                # HTTP/1.x carries a body only with Content-Length or Transfer-Encoding.
                return None, None
            return None, self._limits(scope["path"])
        limit = self._limits(scope["path"])
        if declared > limit:
            return too_large(limit), None
        return None, None

    @staticmethod
    def counting(receive: Receive, limit: int) -> Receive:
        """`receive`, raising `BodyTooLargeError` on the read that crosses `limit`."""
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        return counting_receive
