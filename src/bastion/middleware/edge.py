"""`EdgeMiddleware`: the whole edge stack as one pure-ASGI layer."""

from __future__ import annotations

import asyncio
import logging
import operator
import time
from typing import Protocol, cast

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.core.context import request_id_var
from bastion.core.deadline import request_deadline_var
from bastion.middleware.body_limit import (
    BodyLimitMiddleware,
    BodyTooLargeError,
    too_large,
)
from bastion.middleware.cors import CORSMiddleware
from bastion.middleware.edge_config import EdgeConfig
from bastion.middleware.errors import ErrorEnvelopeMiddleware
from bastion.middleware.rate_limit import PENDING, Pending, RateLimitMiddleware
from bastion.middleware.request_id import (
    RequestIdMiddleware,
    access_logger,
    new_request_id,
)
from bastion.middleware.response_state import RESPONSE_STATE_KEY, ResponseState
from bastion.middleware.security_headers import SecurityHeadersMiddleware
from bastion.middleware.timeout import TimeoutMiddleware
from bastion.middleware.trusted_hosts import TrustedHostMiddleware
from bastion.middleware.unicode_body import UnicodeBodyMiddleware
from bastion.ratelimit.client_ip import client_ip
from bastion.ratelimit.headers import REPORT_SCOPE_KEY, rate_limit_headers, tighter
from bastion.ratelimit.limiter import RateLimiter
from bastion.ratelimit.result import RateLimitResult

__all__ = ["EdgeMiddleware"]

_name = operator.itemgetter(0)
_INFO = logging.INFO
# HTTP/1.x carries a body only with Content-Length or Transfer-Encoding.
_HTTP1 = frozenset({"1.0", "1.1"})


class EdgeMiddleware:
    """Every edge layer, in `EDGE_ORDER`, run by one ASGI callable.

    The layers are the same classes a host can stack one by one (`layers`
    holds them, outermost first); here their steps run in one call and the
    response passes through one `send`, instead of nine nested calls and
    wrappers per request. The order, and what each refusal carries, is the
    stacked order's: a refusal gets the headers of the layers outside the
    layer that refused, and the 500 envelope only the request id and the
    security headers.

    Non-HTTP scopes pass through (a websocket still meets the host check).
    """

    def __init__(self, app: ASGIApp, *, config: EdgeConfig | None = None) -> None:
        """Wrap `app` in the layers `config` describes."""
        self.app = app
        self.config = config = config or EdgeConfig()
        self._ids = RequestIdMiddleware(app, config=config.request_id)
        self._security = (
            SecurityHeadersMiddleware(app, config=config.security_headers)
            if config.security_headers is not None
            else None
        )
        self._errors = ErrorEnvelopeMiddleware(app)
        self._cors = CORSMiddleware(app, config=config.cors)
        self._hosts = (
            TrustedHostMiddleware(app, config=config.trusted_hosts)
            if config.trusted_hosts is not None
            else None
        )
        self._body = BodyLimitMiddleware(app, config=config.body_limit)
        self._timeout = (
            TimeoutMiddleware(app, config=config.timeout) if config.timeout is not None else None
        )
        self._rate = RateLimitMiddleware(app, config=config.rate_limit)
        self._unicode = UnicodeBodyMiddleware(app) if config.unicode_body else None
        #: The layers run, outermost first.
        self.layers: tuple[object, ...] = tuple(
            layer
            for layer in (
                self._ids,
                self._security,
                self._errors,
                self._cors,
                self._hosts,
                self._body,
                self._timeout,
                self._rate,
                self._unicode,
            )
            if layer is not None
        )
        self._passthrough: ASGIApp = self._hosts or app
        # Read once here, so a request costs attribute reads, not calls.
        self._id_name = self._ids.header_name
        self._access_log = self._ids.config.access_log
        security = self._security
        self._docs_paths = () if security is None else security.config.docs_paths
        self._api_headers = [] if security is None else security.add([])
        self._docs_headers = [] if security is None else security.add([], docs=True)
        # A response holding none of these gets the headers above appended unchecked.
        self._guarded = frozenset(
            {self._id_name, b"server"}
            | {name for name, _ in self._docs_headers + self._api_headers}
        )
        timeout = config.timeout
        self._fixed_budget = None if timeout is None or timeout.routes else timeout.seconds
        self._mode = self._rate.mode
        self._exempt_exact = self._rate.exempt.exact
        self._exempt_under = self._rate.exempt.under
        self._direct_ip = not self._rate.proxies.networks
        # The limiter of the app's running lifespan, found on its first request.
        self._limiter_source: _LifespanResources | None = None
        self._limiter: RateLimiter | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection.

        The layers' steps, in `EDGE_ORDER`, inlined into one frame: on the
        path every request takes, each step is an attribute read or a check
        of the headers, and the layers' methods run only where there is work.
        """
        if scope["type"] != "http":
            await self._passthrough(scope, receive, send)
            return
        headers = dict(scope["headers"])
        path: str = scope["path"]
        # 1. Request id.
        incoming = headers.get(self._id_name)
        if incoming is None:  # `new_request_id()`, inlined
            ids = new_request_id
            request_id = f"{ids.prefix}{next(ids.counter):016x}"
        else:
            request_id = self._ids.request_id(incoming)
        token = request_id_var.set(request_id)
        log = self._access_log and access_logger.isEnabledFor(_INFO)
        started = time.perf_counter() if log else 0.0
        # 2. Security headers: the docs pages get their own profile.
        docs = path.startswith(self._docs_paths)
        exchange = _Exchange(self, send, (self._id_name, request_id.encode("ascii")), docs)
        scope[RESPONSE_STATE_KEY] = exchange
        edge_send = exchange.send
        # 3. The catch-all.
        try:
            refusal: ASGIApp | None = None
            # 4. CORS.
            if b"origin" in headers:
                refusal, exchange.cors = self._cors.inspect(scope["method"], headers)
            # 5. Trusted hosts.
            if refusal is None and self._hosts is not None and not self._hosts.allows(headers):
                refusal = self._hosts.refusal()
            # 6. Body limit: a declared length here, a streamed body as it is read.
            app_receive = receive
            if refusal is None and (
                b"content-length" in headers
                or b"transfer-encoding" in headers
                or scope.get("http_version", "1.1") not in _HTTP1
            ):
                refusal, limit = self._body.inspect(scope, headers)
                if limit is not None:
                    app_receive = self._body.counting(receive, limit)
                # 9. The JSON text check, on the app's reads of a body.
                if self._unicode is not None and self._unicode.applies(scope, headers):
                    app_receive = self._unicode.checked(app_receive)
            if refusal is None:
                # 7. Timeout.
                watch = None
                deadline = None
                seconds = 0.0
                timeout = self._timeout
                if timeout is not None:
                    fixed = self._fixed_budget
                    seconds = timeout.budget(path) if fixed is None else fixed
                    if seconds > 0:
                        task = asyncio.current_task()
                        assert task is not None  # noqa: S101  # ASGI apps always run in a task
                        watch = timeout.watchdog.watch(task, seconds)
                        # A commit lifts it (`TimeoutMiddleware.within` does the same).
                        deadline = request_deadline_var.set(watch)
                try:
                    # 8. Global rate limit; the exchange is also the request's report.
                    scope[REPORT_SCOPE_KEY] = exchange
                    limit_ = self._rate.limit
                    if limit_ is not None and not (
                        path in self._exempt_exact or path.startswith(self._exempt_under)
                    ):
                        verdict = self._count(scope, exchange, limit_)
                        # PENDING: a storage to await (Redis), or an outage.
                        refusal = (
                            await self._rate.admit(scope, exchange)
                            if verdict is PENDING
                            else verdict
                        )
                    if refusal is None:
                        exchange.rated = self._mode != "none"
                        await self.app(scope, app_receive, edge_send)
                    else:
                        await refusal(scope, receive, edge_send)  # carries its own headers
                        refusal = None
                except asyncio.CancelledError:
                    if watch is None or not watch.cut_short():
                        raise
                    TimeoutMiddleware.report(scope, seconds)
                    if not exchange.started:
                        refusal = TimeoutMiddleware.timeout_response(seconds)
                except BodyTooLargeError as exc:
                    if exchange.started:
                        raise
                    refusal = too_large(exc.limit)
                else:
                    if watch is not None and watch.expired:
                        watch.completed()
                finally:
                    if watch is not None:
                        watch.task = None
                    if deadline is not None:
                        request_deadline_var.reset(deadline)
                if refusal is not None:  # bypass the layers inside the one that refused
                    exchange.rated = False
                    exchange.header_hooks.clear()
            if refusal is not None:
                await refusal(scope, receive, edge_send)
        except Exception as exc:  # rendered into the envelope, never re-raised
            error = self._errors.render(exc, scope, started=exchange.started)
            if error is not None:
                exchange.rated = False
                exchange.cors = None
                exchange.header_hooks.clear()
                await error(scope, receive, edge_send)
        finally:
            if log:
                self._ids.log_access(scope, exchange.status, started)
            request_id_var.reset(token)

    def _count(self, scope: Scope, exchange: _Exchange, limit: str) -> ASGIApp | Pending | None:
        """`RateLimitMiddleware.admit_nowait`, with the limiter kept for the lifespan."""
        client = scope.get("client")
        ip = (
            client[0]
            if client and self._direct_ip
            else client_ip(scope, self._rate.proxies) or "unknown"
        )
        source = self._limiter_source
        limiter = (
            self._limiter if source is not None and not source.closed else self._find_limiter(scope)
        )
        if limiter is None:
            return None
        # In process memory the hit needs no await.
        result = limiter.hit_nowait(limit, "global", ip, name="global")
        if result is None:
            return PENDING
        exchange.result = result
        return None if result.allowed else self._rate.too_many(result)

    def _find_limiter(self, scope: Scope) -> RateLimiter | None:
        """The limiter of the lifespan serving `scope`, kept until that lifespan ends."""
        resources = getattr(scope["app"].state, "resources", None)
        limiter = getattr(resources, "limiter", None)
        if not isinstance(limiter, RateLimiter):
            self._limiter_source = self._limiter = None
            return None
        if isinstance(getattr(resources, "closed", None), bool):  # `bastion.Resources`
            self._limiter_source, self._limiter = cast("_LifespanResources", resources), limiter
        return limiter


class _Exchange(ResponseState):
    """One request through the edge.

    The response's state, the headers the edge adds on the way out, and the
    tightest rate limit seen (the exchange is also the request's report).
    """

    __slots__ = ("cors", "docs", "edge", "id_header", "own", "rated", "result", "server_send")

    def __init__(
        self, edge: EdgeMiddleware, send: Send, id_header: tuple[bytes, bytes], docs: bool
    ) -> None:
        # `ResponseState.__init__`, inlined: one call per request fewer.
        self.started = False
        self.status = 500
        self.header_hooks = []
        self.edge = edge
        self.server_send = send
        self.id_header = id_header
        self.docs = docs
        #: The security headers of the request's profile.
        self.own = edge._docs_headers if docs else edge._api_headers
        #: CORS headers for the response (None: not a cross-origin request).
        self.cors: list[tuple[bytes, bytes]] | None = None
        #: Whether the rate limit headers go on the response.
        self.rated = False
        #: The result with the least remaining so far (see `RateLimitReport`).
        self.result: RateLimitResult | None = None

    def add(self, result: RateLimitResult) -> None:
        """Report a route limit's `result` (as `RateLimitReport.add`)."""
        self.result = tighter(self.result, result)

    async def send(self, message: Message) -> None:
        """Add the edge's headers to the response start, then send `message`."""
        if message["type"] == "http.response.start":
            self.started = True
            self.status = message["status"]
            out = list(message.get("headers", ()))
            if self.header_hooks:  # inner layers' (a host's own bastion layers)
                out = self.apply_hooks(out)
            edge = self.edge
            if edge._guarded.isdisjoint(map(bytes.lower, map(_name, out))):
                out += self.own
                out.append(self.id_header)
            else:
                if edge._security is not None:
                    out = edge._security.add(out, docs=self.docs)
                out = edge._ids.tag(out, self.id_header)
            if self.rated and self.result is not None:
                out += rate_limit_headers(self.result, edge._mode)
            if self.cors is not None:
                out += self.cors
            message["headers"] = out
        await self.server_send(message)


class _LifespanResources(Protocol):
    """What the edge reads of `bastion.Resources` (which it may not import)."""

    closed: bool
