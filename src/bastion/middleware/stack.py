"""The edge stack: every bastion middleware, in its one tested order."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.middleware import Middleware

from bastion.middleware.body_limit import BodyLimitConfig, BodyLimitMiddleware
from bastion.middleware.cors import CORSConfig, CORSMiddleware
from bastion.middleware.errors import ErrorEnvelopeMiddleware
from bastion.middleware.rate_limit import RateLimitConfig, RateLimitMiddleware
from bastion.middleware.request_id import RequestIdConfig, RequestIdMiddleware
from bastion.middleware.security_headers import SecurityHeadersConfig, SecurityHeadersMiddleware
from bastion.middleware.timeout import TimeoutConfig, TimeoutMiddleware
from bastion.middleware.trusted_hosts import TrustedHostConfig, TrustedHostMiddleware
from bastion.middleware.unicode_body import UnicodeBodyMiddleware

if TYPE_CHECKING:
    from bastion.core.settings import BastionSettings

__all__ = ["EDGE_ORDER", "edge_middleware"]

#: The layers from outside in. Why each sits where it does:
#: - request id first, so every response and log line (a 500 too) carries the id;
#: - security headers next, outside the catch-all, so the 500 envelope gets them;
#: - the envelope catch-all then turns anything the inner layers raise into a 500;
#: - CORS before anything that can refuse, so refusals still reach the browser
#:   with the CORS headers, and preflights never spend rate-limit budget;
#: - trusted hosts, body limit, timeout: cheap refusals before any work;
#: - the global rate limit last, so only requests that will really run are counted
#:   and its storage round trip sits inside the time budget;
#: - the JSON text check innermost: it reads the body as the app does, after the
#:   body limit, and turns undecodable JSON into a 422 before a handler runs.
EDGE_ORDER: tuple[type, ...] = (
    RequestIdMiddleware,
    SecurityHeadersMiddleware,
    ErrorEnvelopeMiddleware,
    CORSMiddleware,
    TrustedHostMiddleware,
    BodyLimitMiddleware,
    TimeoutMiddleware,
    RateLimitMiddleware,
    UnicodeBodyMiddleware,
)


def edge_middleware(settings: BastionSettings) -> list[Middleware]:
    """The edge stack the settings describe, outermost first, for `FastAPI(middleware=...)`.

    Optional layers (security headers, trusted hosts, timeout) are left out
    when the settings turn them off; the order of the rest never changes.

    Raises:
        ValueError: A setting is inconsistent (`*` origins with credentials, a bad limit).
    """
    stack = [Middleware(RequestIdMiddleware, config=RequestIdConfig())]
    if settings.security_headers_enabled:
        stack.append(
            Middleware(
                SecurityHeadersMiddleware, config=SecurityHeadersConfig.from_settings(settings)
            )
        )
    stack += [
        Middleware(ErrorEnvelopeMiddleware),
        Middleware(CORSMiddleware, config=CORSConfig.from_settings(settings)),
    ]
    if settings.trusted_hosts:
        stack.append(
            Middleware(
                TrustedHostMiddleware,
                config=TrustedHostConfig(allowed_hosts=tuple(settings.trusted_hosts)),
            )
        )
    stack.append(Middleware(BodyLimitMiddleware, config=BodyLimitConfig.from_settings(settings)))
    if settings.request_timeout > 0 or any(settings.request_timeout_routes.values()):
        stack.append(Middleware(TimeoutMiddleware, config=TimeoutConfig.from_settings(settings)))
    stack.append(Middleware(RateLimitMiddleware, config=RateLimitConfig.from_settings(settings)))
    stack.append(Middleware(UnicodeBodyMiddleware))
    return stack
