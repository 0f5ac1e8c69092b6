"""Request ids: accept a safe incoming `X-Request-ID` or mint one; log one access line."""

from __future__ import annotations

import itertools
import logging
import os
import re
import time
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.core.context import request_id_var
from bastion.middleware.response_state import ResponseState

__all__ = ["RequestIdConfig", "RequestIdMiddleware", "is_valid_request_id", "route_template"]

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


class _FreshIds:
    """Fresh request ids: a random prefix per process and a counter.

    32 hex characters, unique across processes (64 random bits each, drawn
    again in a forked child) and within one (the counter), without a system
    call per request as `os.urandom` would cost. Ids are correlation handles,
    not secrets: nothing may rely on them being unguessable.
    """

    def __init__(self) -> None:
        self.reseed()

    def reseed(self) -> None:
        """Draw a new prefix and restart the counter (in a forked child)."""
        self.prefix = os.urandom(8).hex()
        # From a random start below 2**63: ids do not all end in zeros, and the
        # counter stays within 16 hex digits.
        self.counter = itertools.count(int.from_bytes(os.urandom(8)) >> 1)

    def __call__(self) -> str:
        """A fresh id."""
        return f"{self.prefix}{next(self.counter):016x}"


#: A fresh id (32 hex characters) for a request that brought none, or an unsafe one.
new_request_id = _FreshIds()
os.register_at_fork(after_in_child=new_request_id.reseed)


def is_valid_request_id(value: bytes) -> bool:
    """Whether an incoming id may be echoed: 1-128 chars of `[A-Za-z0-9._-]`."""
    return _VALID_ID.fullmatch(value) is not None


def route_template(scope: Scope) -> str:
    """The matched route's full template (`/api/v1/notes/{id}`), never the raw path.

    What every log line about a request names: ids and personal data in the
    path stay out of the logs. An unmatched request is `<unmatched>`.
    """
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    if not isinstance(template, str):
        # Unmatched requests log a fixed marker, not the raw path (no ids or PII in logs).
        return "<unmatched>"
    # Routes of an included router know only their own template; the prefix
    # they were included under is what the real path has in front of it.
    path: str = scope.get("path", "")
    params = scope.get("path_params")
    if params:
        convertors = getattr(route, "param_convertors", {})
        try:
            rendered = template.format(
                **{name: convertors[name].to_string(value) for name, value in params.items()}
            )
        except (KeyError, ValueError, AssertionError):
            return template
    else:
        rendered = template
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
        #: The header's raw ASGI name (lowercase bytes).
        self.header_name = self.config.header.lower().encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self.request_id(dict(scope["headers"]).get(self.header_name))
        token = request_id_var.set(request_id)
        id_header = (self.header_name, request_id.encode("ascii"))
        response = ResponseState()
        response.install(scope)
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                response.observe(message)
                message["headers"] = self.tag(response.response_headers(message), id_header)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self.log_access(scope, response.status, started)
            request_id_var.reset(token)

    @staticmethod
    def request_id(incoming: bytes | None) -> str:
        """The id of a request that sent `incoming`: echoed when safe, else a fresh one."""
        if incoming is not None and is_valid_request_id(incoming):
            return incoming.decode("ascii")
        return new_request_id()

    def tag(
        self, headers: list[tuple[bytes, bytes]], id_header: tuple[bytes, bytes]
    ) -> list[tuple[bytes, bytes]]:
        """`headers` with `id_header` in place of any id header an inner layer set."""
        name = self.header_name
        # One C-level scan of all names first; filtering per header is rare.
        if name in b"\n".join([h[0] for h in headers]).lower():
            headers = [h for h in headers if h[0].lower() != name]
        headers.append(id_header)
        return headers

    def log_access(self, scope: Scope, status: int, started: float) -> None:
        """Log the access line of a finished request (when enabled).

        The record is made and handled directly: `Logger.info` would first walk
        the stack for the caller's file and line, which say nothing about a
        request, on every request.
        """
        if not self.config.access_log or not access_logger.isEnabledFor(logging.INFO):
            return
        elapsed_ms = (time.perf_counter() - started) * 1000
        route = route_template(scope)
        method = scope["method"]
        record = access_logger.makeRecord(
            access_logger.name,
            logging.INFO,
            "(access)",
            0,
            "%s %s %d %.2fms",
            (method, route, status, elapsed_ms),
            None,
            extra={
                "http_method": method,
                "route": route,
                "status": status,
                "duration_ms": round(elapsed_ms, 3),
            },
        )
        access_logger.handle(record)
