"""Key functions: who a per-route limit counts (client IP, user, anything custom)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request

from bastion._resources import app_resources
from bastion.errors import UnauthenticatedError
from bastion.ratelimit._client_ip import TrustedProxies, client_ip

__all__ = ["KeyFunc", "UserResolver", "by_ip", "by_user"]

#: Maps a request to the identity a limit counts, or None to not count it.
KeyFunc = Callable[[Request], str | Awaitable[str | None] | None]
#: Authenticates a request and names its user (401 without one); the auth feature
#: puts one on `Resources.user_resolver`.
UserResolver = Callable[[Request], Awaitable[str]]


def _trusted_proxies(request: Request) -> TrustedProxies:
    resources = app_resources(request.app)
    return TrustedProxies() if resources is None else resources.trusted_proxies


def by_ip(request: Request) -> str | None:
    """Count by client IP (the socket peer, or the forwarded client behind trusted proxies)."""
    address = client_ip(request, _trusted_proxies(request))
    return None if address is None else f"ip:{address}"


async def by_user(request: Request) -> str:
    """Count by authenticated user; never by IP.

    The user is, in this order: the one a dependency that already ran left in
    `request.state.user_id` (`CurrentUser` does), an authenticated Starlette
    `scope["user"]`'s `identity`, or the one the auth feature authenticates
    now from the request's credentials. So the limit may sit in a route's
    `dependencies=[...]`, which run before the route's own `CurrentUser`.

    Raises:
        UnauthenticatedError: The request has no authenticated user (401, as
            `CurrentUser` answers; the auth feature's own errors pass through).
        RuntimeError: Nothing can name the user: no auth feature is mounted, and
            no dependency before the limit sets `request.state.user_id`.
    """
    user_id = getattr(request.state, "user_id", None)
    if user_id is not None:
        return f"user:{user_id}"
    user = request.scope.get("user")
    if user is not None:
        if not getattr(user, "is_authenticated", False):
            raise UnauthenticatedError()
        return f"user:{user.identity}"
    resources = app_resources(request.app)
    resolve = None if resources is None else resources.user_resolver
    if resolve is None:
        raise RuntimeError(
            'RateLimit(per="user") found no authenticated user: mount bastion\'s auth '
            "router, or set request.state.user_id in a dependency listed before the limit"
        )
    return f"user:{await resolve(request)}"
