"""The global per-client rate limit, and the `RateLimit-*` headers of every limited response."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Receive, Scope, Send

from bastion.core.errors import ServiceUnavailableError
from bastion.middleware.paths import PrefixSet
from bastion.middleware.response_state import header_send
from bastion.ratelimit.client_ip import TrustedProxies, client_ip
from bastion.ratelimit.headers import HeaderMode, RateLimitReport, rate_limit_headers
from bastion.ratelimit.limiter import RateLimiter, parse_limit
from bastion.web.responses import error_response, render_error

if TYPE_CHECKING:
    from bastion.core.settings import BastionSettings

__all__ = ["RateLimitConfig", "RateLimitMiddleware"]


@dataclass(frozen=True, slots=True)
class RateLimitConfig:
    """The app-wide limit and how limits are reported.

    Attributes:
        limit: Budget per client IP over every non-exempt path (`limits`
            notation), or None for no global limit (route limits still apply).
        exempt_paths: Path prefixes the global limit never counts.
        headers: Which `RateLimit-*` header form is sent.
        trusted_proxies: Proxy CIDRs whose forwarding headers name the client.

    Raises:
        ValueError: The limit or a CIDR does not parse.
    """

    limit: str | None = "600/minute"
    exempt_paths: tuple[str, ...] = ("/health", "/ready", "/metrics")
    headers: HeaderMode = "both"
    trusted_proxies: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Fail at startup on a limit or proxy CIDR that does not parse."""
        if self.limit is not None:
            parse_limit(self.limit)
        TrustedProxies(self.trusted_proxies)

    @classmethod
    def from_settings(cls, settings: BastionSettings) -> RateLimitConfig:
        """The config the settings describe."""
        return cls(
            limit=settings.ratelimit_default,
            exempt_paths=tuple(settings.ratelimit_exempt_paths),
            headers=settings.ratelimit_headers,
            trusted_proxies=tuple(settings.trusted_proxies),
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
        self._limit = self.config.limit or None
        if self._limit is not None:
            parse_limit(self._limit)
        self._proxies = TrustedProxies(self.config.trusted_proxies)
        self._mode: HeaderMode = self.config.headers
        self._exempt = PrefixSet(self.config.exempt_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        report = RateLimitReport.install(scope)
        if self._limit is not None and scope["path"] not in self._exempt:
            resources = getattr(scope["app"].state, "resources", None)
            limiter = getattr(resources, "limiter", None)
            if isinstance(limiter, RateLimiter):
                ip = client_ip(scope, self._proxies) or "unknown"
                # In process memory the hit needs no await (two coroutines fewer).
                result = limiter.hit_nowait(self._limit, "global", ip, name="global")
                if result is None:
                    try:
                        result = await limiter.hit(self._limit, "global", ip, name="global")
                    except ServiceUnavailableError as exc:
                        await error_response(exc)(scope, receive, send)
                        return
                report.result = result  # the first limit of the request
                if not result.allowed:
                    response = render_error(
                        "RATE_LIMITED",
                        "Too many requests; slow down.",
                        status_code=429,
                        details={"retry_after": result.retry_after},
                        headers={"Retry-After": str(result.retry_after)},
                    )
                    response.raw_headers.extend(rate_limit_headers(result, self._mode))
                    await response(scope, receive, send)
                    return
        if self._mode == "none":
            await self.app(scope, receive, send)
            return

        mode = self._mode

        def add_rate_limit(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
            if report.result is not None:
                headers += rate_limit_headers(report.result, mode)
            return headers

        await self.app(scope, receive, header_send(scope, send, add_rate_limit))
