"""The global per-client rate limit, and the `RateLimit-*` headers of every limited response."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion._resources import app_resources
from bastion.core._paths import PrefixSet
from bastion.errors import ServiceUnavailableError, error_response, render_error
from bastion.ratelimit import (
    UNKNOWN_CLIENT,
    ForwardedHeader,
    HeaderMode,
    RateLimitReport,
    RateLimitResult,
    TrustedProxies,
    client_ip,
    parse_limit,
    rate_limit_headers,
)

if TYPE_CHECKING:
    from bastion.core import BastionSettings

__all__ = ["RateLimitConfig", "RateLimitMiddleware"]


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
    `app_resources`). Over budget, the request is refused with 429
    `RATE_LIMITED` and `Retry-After` before the app runs; when the storage is
    down and the limiter fails closed, with 503 `SERVICE_UNAVAILABLE`. Every
    response that any limit applied to (this one or a `RateLimit` dependency,
    which reports into the request's `RateLimitReport`) carries the
    `RateLimit-*` headers of the limit with the least remaining.
    """

    def __init__(self, app: ASGIApp, *, config: RateLimitConfig | None = None) -> None:
        """Wrap `app`."""
        self.app = app
        self.config = config = config or RateLimitConfig()
        self._limit = config.limit or None
        self._proxies = config.proxies()
        self._exempt = PrefixSet(config.exempt_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        report = RateLimitReport.install(scope)
        if self._limit is not None and scope["path"] not in self._exempt:
            resources = app_resources(scope["app"])
            if resources is not None:
                ip = client_ip(scope, self._proxies) or UNKNOWN_CLIENT
                try:
                    result = await resources.limiter.hit(self._limit, "global", ip, name="global")
                except ServiceUnavailableError as exc:  # the limiter fails closed
                    await error_response(exc)(scope, receive, send)
                    return
                report.add(result)
                if not result.allowed:
                    await self._too_many(result)(scope, receive, send)
                    return
        mode = self.config.headers
        if mode == "none":
            await self.app(scope, receive, send)
            return

        def send_with_limits(message: Message) -> Awaitable[None]:
            if message["type"] == "http.response.start" and report.result is not None:
                limits = rate_limit_headers(report.result, mode)
                message["headers"] = [*message.get("headers", ()), *limits]
            return send(message)

        await self.app(scope, receive, send_with_limits)

    def _too_many(self, result: RateLimitResult) -> ASGIApp:
        response = render_error(
            "RATE_LIMITED",
            "Too many requests; slow down.",
            status_code=429,
            details={"retry_after": result.retry_after},
            headers={"Retry-After": str(result.retry_after)},
        )
        response.raw_headers.extend(rate_limit_headers(result, self.config.headers))
        return response
