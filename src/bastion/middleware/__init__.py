"""Pure-ASGI middleware: the edge stack, from request ids to the JSON text check."""

from bastion.middleware._body_limit import BodyLimitConfig, BodyLimitMiddleware
from bastion.middleware._cors import CORSConfig, CORSMiddleware
from bastion.middleware._head import HeadMiddleware
from bastion.middleware._rate_limit import RateLimitConfig, RateLimitMiddleware
from bastion.middleware._request_id import (
    RequestIdConfig,
    RequestIdMiddleware,
    is_valid_request_id,
)
from bastion.middleware._security_headers import DOCS_CONTENT_SECURITY_POLICY, SecurityHeadersConfig
from bastion.middleware._stack import EdgeConfig, edge_layers, edge_middleware
from bastion.middleware._timeout import TimeoutConfig, TimeoutMiddleware
from bastion.middleware._trusted_hosts import TrustedHostConfig, TrustedHostMiddleware
from bastion.middleware._unicode_body import UnicodeBodyMiddleware

__all__ = [
    "DOCS_CONTENT_SECURITY_POLICY",
    "BodyLimitConfig",
    "BodyLimitMiddleware",
    "CORSConfig",
    "CORSMiddleware",
    "EdgeConfig",
    "HeadMiddleware",
    "RateLimitConfig",
    "RateLimitMiddleware",
    "RequestIdConfig",
    "RequestIdMiddleware",
    "SecurityHeadersConfig",
    "TimeoutConfig",
    "TimeoutMiddleware",
    "TrustedHostConfig",
    "TrustedHostMiddleware",
    "UnicodeBodyMiddleware",
    "edge_layers",
    "edge_middleware",
    "is_valid_request_id",
]
