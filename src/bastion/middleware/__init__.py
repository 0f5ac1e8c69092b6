"""Pure-ASGI middleware: the edge stack, from security headers to the JSON text check."""

from bastion.middleware.body_limit import BodyLimitConfig, BodyLimitMiddleware
from bastion.middleware.cors import CORSConfig, CORSMiddleware
from bastion.middleware.rate_limit import RateLimitConfig, RateLimitMiddleware
from bastion.middleware.request_id import (
    RequestIdConfig,
    RequestIdMiddleware,
    is_valid_request_id,
)
from bastion.middleware.security_headers import (
    DOCS_CONTENT_SECURITY_POLICY,
    SecurityHeadersConfig,
    SecurityHeadersMiddleware,
)
from bastion.middleware.stack import EdgeConfig, edge_layers, edge_middleware
from bastion.middleware.timeout import TimeoutConfig, TimeoutMiddleware
from bastion.middleware.trusted_hosts import TrustedHostConfig, TrustedHostMiddleware
from bastion.middleware.unicode_body import UnicodeBodyMiddleware

__all__ = [
    "DOCS_CONTENT_SECURITY_POLICY",
    "BodyLimitConfig",
    "BodyLimitMiddleware",
    "CORSConfig",
    "CORSMiddleware",
    "EdgeConfig",
    "RateLimitConfig",
    "RateLimitMiddleware",
    "RequestIdConfig",
    "RequestIdMiddleware",
    "SecurityHeadersConfig",
    "SecurityHeadersMiddleware",
    "TimeoutConfig",
    "TimeoutMiddleware",
    "TrustedHostConfig",
    "TrustedHostMiddleware",
    "UnicodeBodyMiddleware",
    "edge_layers",
    "edge_middleware",
    "is_valid_request_id",
]
