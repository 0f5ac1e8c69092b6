"""Key functions: who a per-route limit counts (client IP, user, anything custom)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request

from bastion.ratelimit.client_ip import TrustedProxies, client_ip

__all__ = ["KeyFunc", "by_ip", "by_user"]

#: Maps a request to the identity a limit counts, or None to not count it.
KeyFunc = Callable[[Request], str | Awaitable[str | None] | None]


def _trusted_proxies(request: Request) -> TrustedProxies:
    resources = getattr(request.app.state, "resources", None)
    proxies = getattr(resources, "trusted_proxies", None)
    return proxies if isinstance(proxies, TrustedProxies) else TrustedProxies()


def by_ip(request: Request) -> str | None:
    """Count by client IP (the socket peer, or the forwarded client behind trusted proxies)."""
    address = client_ip(request, _trusted_proxies(request))
    return None if address is None else f"ip:{address}"


def by_user(request: Request) -> str | None:
    """Count by authenticated user, falling back to the client IP for anonymous requests.

    The user is read from `request.state.user_id` (set it in the auth
    dependency), else from an authenticated Starlette `scope["user"]`'s
    `identity`. Put the limit after the dependency that authenticates.
    """
    user_id = getattr(request.state, "user_id", None)
    if user_id is None:
        user = request.scope.get("user")
        if user is not None and getattr(user, "is_authenticated", False):
            user_id = getattr(user, "identity", None)
    if user_id is not None:
        return f"user:{user_id}"
    return by_ip(request)
