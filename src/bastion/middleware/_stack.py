"""The edge stack: every layer's config in one object, and the one order of the layers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.middleware import Middleware

from bastion.middleware._body_limit import BodyLimitConfig, BodyLimitMiddleware
from bastion.middleware._cors import CORSConfig, CORSMiddleware
from bastion.middleware._head import HeadMiddleware
from bastion.middleware._rate_limit import RateLimitConfig, RateLimitMiddleware
from bastion.middleware._request_id import RequestIdConfig, RequestIdMiddleware
from bastion.middleware._security_headers import SecurityHeadersConfig
from bastion.middleware._timeout import TimeoutConfig, TimeoutMiddleware
from bastion.middleware._trusted_hosts import TrustedHostConfig, TrustedHostMiddleware
from bastion.middleware._unicode_body import UnicodeBodyMiddleware

if TYPE_CHECKING:
    from bastion.core import BastionSettings

__all__ = ["EdgeConfig", "edge_layers", "edge_middleware"]


@dataclass(frozen=True, slots=True)
class EdgeConfig:
    """The configuration of every edge layer; None turns an optional layer off.

    Attributes:
        security_headers: Security headers (None: none sent).
        request_id: Request ids, the access line and the catch-all.
        cors: Cross-origin policy (default deny).
        trusted_hosts: `Host` allow-list (None: any host).
        body_limit: Request body size limits.
        timeout: Request time budgets (None: no timeout).
        rate_limit: The global rate limit and the `RateLimit-*` headers.
        unicode_body: Check that JSON bodies are valid UTF-8 without lone surrogates.
    """

    security_headers: SecurityHeadersConfig | None = field(default_factory=SecurityHeadersConfig)
    request_id: RequestIdConfig = field(default_factory=RequestIdConfig)
    cors: CORSConfig = field(default_factory=CORSConfig)
    trusted_hosts: TrustedHostConfig | None = None
    body_limit: BodyLimitConfig = field(default_factory=BodyLimitConfig)
    timeout: TimeoutConfig | None = field(default_factory=TimeoutConfig)
    rate_limit: RateLimitConfig = field(default_factory=RateLimitConfig)
    unicode_body: bool = True

    @classmethod
    def from_settings(cls, settings: BastionSettings) -> EdgeConfig:
        """The config the settings describe.

        Raises:
            ValueError: A setting is inconsistent (`*` origins with credentials, a bad limit).
        """
        timed = settings.request_timeout > 0 or any(settings.request_timeout_routes.values())
        return cls(
            security_headers=(
                SecurityHeadersConfig.from_settings(settings)
                if settings.security_headers_enabled
                else None
            ),
            request_id=RequestIdConfig.from_settings(settings),
            cors=CORSConfig.from_settings(settings),
            trusted_hosts=(
                TrustedHostConfig(allowed_hosts=tuple(settings.trusted_hosts))
                if settings.trusted_hosts
                else None
            ),
            body_limit=BodyLimitConfig.from_settings(settings),
            timeout=TimeoutConfig.from_settings(settings) if timed else None,
            rate_limit=RateLimitConfig.from_settings(settings),
        )


def edge_layers(config: EdgeConfig) -> list[Middleware]:
    """The edge stack `config` describes, one middleware per layer, outermost first.

    The order is written here only. Why each layer sits where it does:

    - request ids outermost: the id goes on every response and log line, the
      catch-all there turns anything the inner layers raise into a 500, and the
      security headers go on every response, that 500 included;
    - CORS before anything that can refuse, so refusals still reach the browser
      readable, and preflights never spend rate-limit budget;
    - trusted hosts, body limit, timeout: cheap refusals before any work;
    - the global rate limit last, so only requests that will really run are
      counted, and its storage round trip sits inside the time budget;
    - the JSON text check next: it reads the body as the app does, after the
      body limit, and turns undecodable JSON into a 422 before a handler runs;
    - HEAD innermost: a HEAD reaches the routes as a GET, while every layer
      outside saw, logged and counted the HEAD the client sent.

    Optional layers that `config` turns off are left out; the order of the rest
    never changes. A host that builds its own `FastAPI(...)` passes this list as
    `middleware=` (with its own layers after it, inside the stack).
    """
    hosts, timeout = config.trusted_hosts, config.timeout
    layers = [
        Middleware(
            RequestIdMiddleware, config=config.request_id, security_headers=config.security_headers
        ),
        Middleware(CORSMiddleware, config=config.cors),
        None if hosts is None else Middleware(TrustedHostMiddleware, config=hosts),
        Middleware(BodyLimitMiddleware, config=config.body_limit),
        None if timeout is None else Middleware(TimeoutMiddleware, config=timeout),
        Middleware(RateLimitMiddleware, config=config.rate_limit),
        Middleware(UnicodeBodyMiddleware) if config.unicode_body else None,
        Middleware(HeadMiddleware),
    ]
    return [layer for layer in layers if layer is not None]


def edge_middleware(settings: BastionSettings) -> list[Middleware]:
    """`edge_layers` of the config the settings describe (what `create_app` installs).

    Raises:
        ValueError: A setting is inconsistent (`*` origins with credentials, a bad limit).
    """
    return edge_layers(EdgeConfig.from_settings(settings))
