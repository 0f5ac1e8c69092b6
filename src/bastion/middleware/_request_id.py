"""The request's way in and out: its id, the catch-all, the access line, the security headers."""

from __future__ import annotations

import itertools
import logging
import os
import re
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from random import random
from time import perf_counter
from typing import TYPE_CHECKING

from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.core import request_id_var
from bastion.core._process import process_name
from bastion.errors import BastionError, error_response, render_error
from bastion.middleware._scope_headers import first_headers
from bastion.middleware._security_headers import SecurityHeadersConfig

if TYPE_CHECKING:
    from bastion.core import BastionSettings

__all__ = ["RequestIdConfig", "RequestIdMiddleware", "is_valid_request_id", "route_template"]

_VALID_ID = re.compile(rb"[A-Za-z0-9._-]{1,128}")
access_logger = logging.getLogger("bastion.access")
error_logger = logging.getLogger("bastion.errors")


@dataclass(frozen=True, slots=True)
class RequestIdConfig:
    """How request ids are read and how requests are reported.

    Attributes:
        header: The request and response header carrying the id.
        access_log: Log one line per request (method, route template, status, ms, id).
        access_log_sample: The share of requests (0 to 1) whose access line is
            written; a 5xx is always written.
    """

    header: str = "X-Request-ID"
    access_log: bool = True
    access_log_sample: float = 1.0

    @classmethod
    def from_settings(cls, settings: BastionSettings) -> RequestIdConfig:
        """The config the settings describe."""
        return cls(access_log=settings.access_log, access_log_sample=settings.access_log_sample)


class _FreshIds:
    """Fresh request ids: the process's name (`process_name`) and a counter.

    32 hex characters, unique across processes (64 random bits each, drawn
    again in a forked child) and within one (the counter), without a system
    call per request. Ids are correlation handles, not secrets: nothing may
    rely on them being unguessable.
    """

    def __init__(self) -> None:
        self.reseed()

    def reseed(self) -> None:
        """Restart the counter (in a forked child, which has a name of its own)."""
        # A random start in [2**62, 2**63): ids do not all end in zeros, and the
        # counter always has 16 hex digits.
        self.counter = itertools.count((1 << 62) | int.from_bytes(os.urandom(8)) >> 2)

    def __call__(self) -> str:
        """A fresh id."""
        return f"{process_name()}{next(self.counter):x}"


#: A fresh id (32 hex characters) for a request that brought none, or an unsafe one.
new_request_id = _FreshIds()
os.register_at_fork(after_in_child=new_request_id.reseed)


def is_valid_request_id(value: bytes) -> bool:
    """Whether an incoming id may be echoed: 1-128 chars of `[A-Za-z0-9._-]`."""
    return _VALID_ID.fullmatch(value) is not None


def _starlette_route(scope: Scope) -> Route | None:
    """The app's plain Starlette route that served `scope`: its endpoint, and it matches.

    FastAPI puts only its own routes in the scope (`scope["route"]`); a plain one
    (the OpenAPI document, the docs pages, `/metrics`, a host's `add_route`) leaves
    its endpoint there. Looked up only for those, a few requests at most.
    """
    endpoint = scope.get("endpoint")
    if endpoint is None:
        return None
    routes: Iterable[object] = getattr(scope.get("app"), "routes", ())
    return next(
        (
            route
            for route in routes
            if isinstance(route, Route)
            and route.endpoint is endpoint
            and route.matches(scope)[0] is Match.FULL
        ),
        None,
    )


def route_template(scope: Scope) -> str:
    """The matched route's full template (`/api/v1/notes/{id}`), never the raw path.

    What every log line about a request names: ids and personal data in the
    path stay out of the logs. An unmatched request is `<unmatched>`.
    """
    route = scope.get("route") or _starlette_route(scope)
    template = getattr(route, "path_format", None)
    if not isinstance(template, str):
        return "<unmatched>"
    # Routes of an included router know only their own template; the prefix
    # they were included under is what the real path has in front of it.
    path: str = scope.get("path", "")
    params = scope.get("path_params")
    rendered = template
    if params:
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


_Headers = list[tuple[bytes, bytes]]


class RequestIdMiddleware:
    """The request's id, the catch-all for errors, the access line and the security headers.

    The id (a safe incoming `X-Request-ID`, else a fresh one) is put in a
    context variable, so logs and error envelopes carry it, and on the
    response. Any exception from the layers inside is rendered into the
    envelope here and never re-raised: Starlette's own `ServerErrorMiddleware`
    sits outside all user middleware, so its 500 would miss the id. A
    `BastionError` keeps its status; anything else is a 500 `INTERNAL_ERROR`
    with the traceback logged server-side.

    Every response, that 500 included, carries the security headers
    (`security_headers`; None sends none): a header the handler set itself is
    kept, and a `Server` header an inner layer set is dropped (the app does not
    advertise its software; run uvicorn with `server_header=False` too).

    The concerns share this layer because each needs what its one `send`
    wrapper sees: whether the response started, and its headers.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        config: RequestIdConfig | None = None,
        security_headers: SecurityHeadersConfig | None = SecurityHeadersConfig(),  # noqa: B008  # frozen, shared safely
    ) -> None:
        """Wrap `app`; the security header lists are rendered once, here."""
        self.app = app
        self.config = config = config or RequestIdConfig()
        self.security_headers = security_headers
        self._name = name = config.header.lower().encode("latin-1")
        self._log = config.access_log
        self._sample = config.access_log_sample
        self._api: _Headers = []
        self._docs: _Headers = []
        self._docs_paths: tuple[str, ...] = ()
        replaced = {name}  # what this layer sets in place of an inner layer's
        if security_headers is not None:
            self._api = security_headers.headers()
            self._docs = security_headers.headers(docs=True)
            self._docs_paths = security_headers.docs_paths
            replaced.add(b"server")
        self._replaced = frozenset(replaced)
        # The header names an inner response may carry that this layer decides on.
        self._decided = frozenset({*replaced, *(key for key, _ in self._api)})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        name = self._name
        incoming = first_headers(scope).get(name)
        if incoming is not None and _VALID_ID.fullmatch(incoming) is not None:
            request_id = incoming.decode("ascii")
        else:
            request_id = new_request_id()
        token = request_id_var.set(request_id)
        id_header = (name, request_id.encode("ascii"))
        security = self._docs if scope["path"].startswith(self._docs_paths) else self._api
        decided = self._decided
        status = 0  # until the response starts
        begun = perf_counter()

        def send_with_id(message: Message) -> Awaitable[None]:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.get("headers", ())
                # ASGI header names are lowercase bytes.
                for key, _ in headers:
                    if key in decided:  # something to replace, keep or drop: the rare case
                        message["headers"] = self._merged(headers, id_header, security)
                        break
                else:
                    message["headers"] = [*headers, id_header, *security]
            return send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:  # the catch-all: logged, rendered, never re-raised
            error = _render(exc, scope, started=status != 0)
            if error is not None:
                await error(scope, receive, send_with_id)
        finally:
            if self._log:
                status = status or 500
                sample = self._sample
                if sample >= 1.0 or status >= 500 or random() < sample:  # noqa: S311  # sampling, not security
                    _log_access(scope, status, begun)
            request_id_var.reset(token)

    def _merged(
        self,
        headers: Iterable[tuple[bytes, bytes]],
        id_header: tuple[bytes, bytes],
        security: _Headers,
    ) -> _Headers:
        """`headers` with this layer's own added: an inner id and `Server` give way.

        A security header the handler set stays, in place of this layer's.
        """
        kept = [header for header in headers if header[0] not in self._replaced]
        present = {key for key, _ in kept}
        return [*kept, id_header, *(header for header in security if header[0] not in present)]


def _render(exc: Exception, scope: Scope, *, started: bool) -> ASGIApp | None:
    """Log `exc`, which escaped the inner layers; the envelope to send, if nothing was sent."""
    if isinstance(exc, BastionError):
        if started:
            error_logger.error("error after the response started", exc_info=exc)
            return None
        return error_response(exc)
    # The route template, as on the access line: no ids or personal data in the log.
    route = route_template(scope)
    error_logger.error("unhandled exception in %s %s", scope["method"], route, exc_info=exc)
    if started:
        return None  # nothing more can be sent; the server closes the connection
    return render_error("INTERNAL_ERROR", "An internal error occurred.", status_code=500)


def _log_access(scope: Scope, status: int, begun: float) -> None:
    """Log the access line of a finished request.

    The record is made and handled directly: `Logger.info` would first walk
    the stack for the caller's file and line, which say nothing about a request.
    """
    if not access_logger.isEnabledFor(logging.INFO):
        return
    elapsed_ms = (perf_counter() - begun) * 1000
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
