"""`EdgeConfig`: the configuration of every edge layer, in one object."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bastion.middleware.body_limit import BodyLimitConfig
from bastion.middleware.cors import CORSConfig
from bastion.middleware.rate_limit import RateLimitConfig
from bastion.middleware.request_id import RequestIdConfig
from bastion.middleware.security_headers import SecurityHeadersConfig
from bastion.middleware.timeout import TimeoutConfig
from bastion.middleware.trusted_hosts import TrustedHostConfig

if TYPE_CHECKING:
    from bastion.core.settings import BastionSettings

__all__ = ["EdgeConfig"]


@dataclass(frozen=True, slots=True)
class EdgeConfig:
    """The configuration of every edge layer; None turns an optional layer off.

    Attributes:
        request_id: Request ids and the access line.
        security_headers: Security headers (None: none sent).
        cors: Cross-origin policy (default deny).
        trusted_hosts: `Host` allow-list (None: any host).
        body_limit: Request body size limits.
        timeout: Request time budgets (None: no timeout).
        rate_limit: The global rate limit and the `RateLimit-*` headers.
        unicode_body: Check that JSON bodies are valid UTF-8 without lone surrogates.
    """

    request_id: RequestIdConfig = field(default_factory=RequestIdConfig)
    security_headers: SecurityHeadersConfig | None = field(default_factory=SecurityHeadersConfig)
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
            request_id=RequestIdConfig(),
            security_headers=(
                SecurityHeadersConfig.from_settings(settings)
                if settings.security_headers_enabled
                else None
            ),
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
