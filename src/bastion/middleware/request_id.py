"""Request ids: accept a safe incoming `X-Request-ID` or mint one; log one access line."""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.core.context import request_id_var
from bastion.middleware.response_state import ResponseState

__all__ = ["RequestIdConfig", "RequestIdMiddleware", "is_valid_request_id"]

_VALID_ID = re.compile(rb"[A-Za-z0-9._-]{1,128}")
access_logger = logging.getLogger("bastion.access")


@dataclass(frozen=True, slots=True)
class RequestIdConfig:
    """How request ids are read and reported.

    Attributes:
        header: The request and response header carrying the id.
        access_log: Log one line per request (method, route template, status, ms, id).
    """

    header: str = "X-Request-ID"
    access_log: bool = True


def is_valid_request_id(value: bytes) -> bool:
    """Whether an incoming id may be echoed: 1-128 chars of `[A-Za-z0-9._-]`."""
    return _VALID_ID.fullmatch(value) is not None


def _route_template(scope: Scope) -> str:
    """The matched route's full template (`/api/v1/notes/{id}`), never the raw path."""
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    if not isinstance(template, str):
        # Unmatched requests log a fixed marker, not the raw path (no ids or PII in logs).
        return "<unmatched>"
    # Routes of an included router know only their own template; the prefix
    # they were included under is what the real path has in front of it.
    path: str = scope.get("path", "")
    params = scope.get("path_params") or {}
    convertors = getattr(route, "param_convertors", {})
    try:
        rendered = template.format(
            **{name: convertors[name].to_string(value) for name, value in params.items()}
        )
    except (KeyError, ValueError, AssertionError):
        return template
    if path.endswith(rendered):
        return path[: len(path) - len(rendered)] + template
    return template


class RequestIdMiddleware:
    """The outermost layer: sets the request id and reports every request.

    The id is put in a context variable (so logs and error envelopes carry it)
    and on every response, including the 500s rendered by inner layers.
    """

    def __init__(self, app: ASGIApp, *, config: RequestIdConfig | None = None) -> None:
        """Wrap `app`."""
        self.app = app
        self.config = config or RequestIdConfig()
        self._header_lower = self.config.header.lower().encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = None
        for name, value in scope["headers"]:
            if name == self._header_lower:
                if is_valid_request_id(value):
                    request_id = value.decode("ascii")
                break
        if request_id is None:
            request_id = os.urandom(16).hex()
        token = request_id_var.set(request_id)
        header = (self._header_lower, request_id.encode("ascii"))
        response = ResponseState()
        response.install(scope)
        started = time.perf_counter()

        name = self._header_lower

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                response.observe(message)
                headers = response.response_headers(message)
                # One C-level scan of all names first; filtering per header is rare.
                if name in b"\n".join([h[0] for h in headers]).lower():
                    headers = [h for h in headers if h[0].lower() != name]
                headers.append(header)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if self.config.access_log and access_logger.isEnabledFor(logging.INFO):
                elapsed_ms = (time.perf_counter() - started) * 1000
                route = _route_template(scope)
                access_logger.info(
                    "%s %s %d %.2fms",
                    scope["method"],
                    route,
                    response.status,
                    elapsed_ms,
                    extra={
                        "http_method": scope["method"],
                        "route": route,
                        "status": response.status,
                        "duration_ms": round(elapsed_ms, 3),
                    },
                )
            request_id_var.reset(token)
