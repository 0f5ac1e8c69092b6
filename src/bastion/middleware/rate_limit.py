"""The global per-client rate limit, and the `RateLimit-*` headers of every limited response."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Receive, Scope, Send

from bastion.core.errors import ServiceUnavailableError
from bastion.middleware.paths import PrefixSet
from bastion.middleware.response_state import HeaderHook, header_send
from bastion.ratelimit.client_ip import ForwardedHeader, TrustedProxies, client_ip
from bastion.ratelimit.headers import (
    HeaderMode,
    RateLimitReport,
    RateLimitSink,
    rate_limit_headers,
)
from bastion.ratelimit.limiter import RateLimiter, parse_limit
from bastion.ratelimit.result import RateLimitResult
from bastion.web.responses import error_response, render_error

if TYPE_CHECKING:
    from bastion.core.settings import BastionSettings

__all__ = ["PENDING", "Pending", "RateLimitConfig", "RateLimitMiddleware"]


class Pending(enum.Enum):
    """The type of `PENDING`."""

    PENDING = "pending"


#: From `RateLimitMiddleware.admit_nowait`: the storage must be awaited.
PENDING = Pending.PENDING


@dataclass(frozen=True, slots=True)
class RateLimitConfig:
    """The app-wide limit and how limits are reported.

    Attributes:
        limit: Budget per client IP over every non-exempt path (`limits`
            notation), or None for no global limit (route limits still apply).
        exempt_paths: Path prefixes the global limit never counts.
        headers: Which `RateLimit-*` header form is sent.
        trusted_proxies: Proxy CIDRs whose forwarding header names the client.
        forwarded_header: The one header those proxies write (the other is never read).

    Raises:
        ValueError: The limit or a CIDR does not parse.
    """

    limit: str | None = "600/minute"
    exempt_paths: tuple[str, ...] = ("/health", "/ready", "/metrics")
    headers: HeaderMode = "both"
    trusted_proxies: tuple[str, ...] = ()
    forwarded_header: ForwardedHeader = "X-Forwarded-For"

    def __post_init__(self) -> None:
        """Fail at startup on a limit, proxy CIDR or header that does not parse."""
        if self.limit is not None:
            parse_limit(self.limit)
        self.proxies()

    def proxies(self) -> TrustedProxies:
        """The parsed trusted proxies and their header."""
        return TrustedProxies(self.trusted_proxies, header=self.forwarded_header)

    @classmethod
    def from_settings(cls, settings: BastionSettings) -> RateLimitConfig:
        """The config the settings describe."""
        return cls(
            limit=settings.ratelimit_default,
            exempt_paths=tuple(settings.ratelimit_exempt_paths),
            headers=settings.ratelimit_headers,
            trusted_proxies=tuple(settings.trusted_proxies),
            forwarded_header=settings.forwarded_header,
        )


class RateLimitMiddleware:
    """Count each request against the client's global budget; report the tightest limit.

    The limiter is the lifespan's (`Resources.limiter`, reached through
    `scope["app"]`). Over budget, the request is refused with 429
    `RATE_LIMITED` and `Retry-After` before the app runs; when the storage is
    down and the limiter fails closed, with 503 `SERVICE_UNAVAILABLE`. Every
    response that any limit applied to (this one or a `RateLimit` dependency)
    carries the `RateLimit-*` headers of the limit with the least remaining.
    """

    def __init__(self, app: ASGIApp, *, config: RateLimitConfig | None = None) -> None:
        """Wrap `app`; the limit is parsed here, so a typo fails at startup."""
        self.app = app
        self.config = config or RateLimitConfig()
        # Parsed here so a typo fails at startup; the limiter is handed the string,
        # whose cached hash makes its per-limit lookups cheaper than an item's.
        #: The global limit (None: none).
        self.limit = self.config.limit or None
        if self.limit is not None:
            parse_limit(self.limit)
        #: The proxies whose forwarding headers name the client.
        self.proxies = self.config.proxies()
        #: Which `RateLimit-*` header form is sent.
        self.mode: HeaderMode = self.config.headers
        #: The paths the global limit never counts.
        self.exempt = PrefixSet(self.config.exempt_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        report = RateLimitReport.install(scope)
        refusal = await self.admit(scope, report)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        hook = self.header_hook(report)
        await self.app(scope, receive, send if hook is None else header_send(scope, send, hook))

    async def admit(self, scope: Scope, report: RateLimitSink) -> ASGIApp | None:
        """Count the request against its client's global budget.

        Returns:
            None to serve it (the result is kept in `report`), or the answer
            to send instead: 429 over budget, 503 when the storage is down and
            the limiter fails closed.
        """
        verdict = self.admit_nowait(scope, report)
        if verdict is not PENDING:
            return verdict
        limiter = self.limiter(scope)
        assert limiter is not None  # noqa: S101  # PENDING means there is one
        assert self.limit is not None  # noqa: S101  # as above
        ip = client_ip(scope, self.proxies) or "unknown"
        try:
            result = await limiter.hit(self.limit, "global", ip, name="global")
        except ServiceUnavailableError as exc:
            return error_response(exc)
        return self._verdict(result, report)

    def admit_nowait(self, scope: Scope, report: RateLimitSink) -> ASGIApp | Pending | None:
        """`admit` without awaiting, when the limiter counts in process memory.

        Returns:
            As `admit`, or `PENDING` when the storage must be awaited (nothing
            was counted yet): then `await admit(...)`.
        """
        if self.limit is None or scope["path"] in self.exempt:
            return None
        limiter = self.limiter(scope)
        if limiter is None:
            return None
        ip = client_ip(scope, self.proxies) or "unknown"
        result = limiter.hit_nowait(self.limit, "global", ip, name="global")
        if result is None:
            return PENDING
        return self._verdict(result, report)

    @staticmethod
    def limiter(scope: Scope) -> RateLimiter | None:
        """The app's limiter (`Resources.limiter`, set by the lifespan), if any."""
        resources = getattr(scope["app"].state, "resources", None)
        limiter = getattr(resources, "limiter", None)
        return limiter if isinstance(limiter, RateLimiter) else None

    def _verdict(self, result: RateLimitResult, report: RateLimitSink) -> ASGIApp | None:
        report.result = result  # the first limit of the request
        return None if result.allowed else self.too_many(result)

    def too_many(self, result: RateLimitResult) -> ASGIApp:
        """The 429 `RATE_LIMITED` answer for `result`, with `Retry-After` and its headers."""
        response = render_error(
            "RATE_LIMITED",
            "Too many requests; slow down.",
            status_code=429,
            details={"retry_after": result.retry_after},
            headers={"Retry-After": str(result.retry_after)},
        )
        response.raw_headers.extend(rate_limit_headers(result, self.mode))
        return response

    def header_hook(self, report: RateLimitSink) -> HeaderHook | None:
        """The hook adding the headers of `report`'s tightest limit (None: headers are off)."""
        mode = self.mode
        if mode == "none":
            return None

        def add_rate_limit(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
            if report.result is not None:
                headers += rate_limit_headers(report.result, mode)
            return headers

        return add_rate_limit
