"""Rate limiting on the `limits` async API: the limiter, client IPs, keys and the dependency.

The stable core, for other capabilities (login throttling) to build on:

- `RateLimiter` (on `Resources.limiter`): `await limiter.test(limit, *key)`,
  `hit(limit, *key, cost=1)`, `peek(limit, *key)`, `reset(limit, *key)`, each
  returning a `RateLimitResult(allowed, limit, remaining, reset_after, ...)`.
- `client_ip(scope_or_request, trusted_proxies)` with `TrustedProxies`, which name the
  one forwarding header (`ForwardedHeader`) the proxies write.
"""

from bastion.ratelimit._client_ip import (
    UNKNOWN_CLIENT,
    ForwardedHeader,
    TrustedProxies,
    client_ip,
)
from bastion.ratelimit._dependency import RateLimit, limited_router
from bastion.ratelimit._headers import (
    HeaderMode,
    RateLimitReport,
    rate_limit_headers,
    report_rate_limit,
)
from bastion.ratelimit._keys import KeyFunc, UserResolver, by_ip, by_user
from bastion.ratelimit._limiter import Limit, RateLimiter, Strategy, parse_limit
from bastion.ratelimit._memory import MemorySlidingWindow
from bastion.ratelimit._redis_window import RedisSlidingWindow
from bastion.ratelimit._result import RateLimitResult
from bastion.ratelimit._storage import close_rate_limiter, create_rate_limiter, rate_limit_storage
from bastion.ratelimit._window import SlidingWindow

__all__ = [
    "UNKNOWN_CLIENT",
    "ForwardedHeader",
    "HeaderMode",
    "KeyFunc",
    "Limit",
    "MemorySlidingWindow",
    "RateLimit",
    "RateLimitReport",
    "RateLimitResult",
    "RateLimiter",
    "RedisSlidingWindow",
    "SlidingWindow",
    "Strategy",
    "TrustedProxies",
    "UserResolver",
    "by_ip",
    "by_user",
    "client_ip",
    "close_rate_limiter",
    "create_rate_limiter",
    "limited_router",
    "parse_limit",
    "rate_limit_headers",
    "rate_limit_storage",
    "report_rate_limit",
]
