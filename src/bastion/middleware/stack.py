"""The edge stack: every bastion middleware, in its one tested order."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.middleware import Middleware

from bastion.middleware.body_limit import BodyLimitMiddleware
from bastion.middleware.cors import CORSMiddleware
from bastion.middleware.edge import EdgeMiddleware
from bastion.middleware.edge_config import EdgeConfig
from bastion.middleware.errors import ErrorEnvelopeMiddleware
from bastion.middleware.rate_limit import RateLimitMiddleware
from bastion.middleware.request_id import RequestIdMiddleware
from bastion.middleware.security_headers import SecurityHeadersMiddleware
from bastion.middleware.timeout import TimeoutMiddleware
from bastion.middleware.trusted_hosts import TrustedHostMiddleware
from bastion.middleware.unicode_body import UnicodeBodyMiddleware

if TYPE_CHECKING:
    from bastion.core.settings import BastionSettings

__all__ = ["EDGE_ORDER", "edge_layers", "edge_middleware"]

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
    """The edge stack the settings describe, for `FastAPI(middleware=...)`.

    One `EdgeMiddleware`, which runs every layer in `EDGE_ORDER` in one call
    (what `create_app` uses). `edge_layers` gives the same stack as one
    middleware per layer.

    Raises:
        ValueError: A setting is inconsistent (`*` origins with credentials, a bad limit).
    """
    return [Middleware(EdgeMiddleware, config=EdgeConfig.from_settings(settings))]


def edge_layers(config: EdgeConfig) -> list[Middleware]:
    """The stack `config` describes as one middleware per layer, outermost first.

    Behaves as `EdgeMiddleware(config=config)`; a host that must put its own
    middleware between two layers composes this list instead. Optional layers
    that `config` turns off are left out; the order of the rest never changes.
    """
    stack = [Middleware(RequestIdMiddleware, config=config.request_id)]
    if config.security_headers is not None:
        stack.append(Middleware(SecurityHeadersMiddleware, config=config.security_headers))
    stack += [Middleware(ErrorEnvelopeMiddleware), Middleware(CORSMiddleware, config=config.cors)]
    if config.trusted_hosts is not None:
        stack.append(Middleware(TrustedHostMiddleware, config=config.trusted_hosts))
    stack.append(Middleware(BodyLimitMiddleware, config=config.body_limit))
    if config.timeout is not None:
        stack.append(Middleware(TimeoutMiddleware, config=config.timeout))
    stack.append(Middleware(RateLimitMiddleware, config=config.rate_limit))
    if config.unicode_body:
        stack.append(Middleware(UnicodeBodyMiddleware))
    return stack
