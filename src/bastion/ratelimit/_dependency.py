"""`RateLimit`: a per-route limit as a FastAPI dependency, and `limited_router`."""

from __future__ import annotations

import inspect
from typing import Literal

from fastapi import APIRouter, Depends
from starlette.requests import Request

from bastion._resources import app_resources
from bastion.errors import RateLimitedError
from bastion.ratelimit._headers import report_rate_limit
from bastion.ratelimit._keys import KeyFunc, by_ip, by_user
from bastion.ratelimit._limiter import Limit, parse_limit

__all__ = ["RateLimit", "limited_router", "route_bucket"]

#: Who a limit counts by name: the client IP (`by_ip`) or the authenticated user (`by_user`).
_PER: dict[str, KeyFunc] = {"ip": by_ip, "user": by_user}


def route_bucket(request: Request) -> str:
    """The bucket of a route's unnamed limit: its method and full path template.

    `GET /api/v1/notes/{note_id}`: the template, not the path, so every note
    shares one budget; the mount's root path in front, so routers mounted
    under different prefixes stay apart. Never the handler's name, so a
    rename (or a refactor moving the handler) keeps the counts.
    """
    route = getattr(request.scope.get("route"), "path", None)
    template = route if isinstance(route, str) else request.url.path
    return f"{request.method} {request.scope.get('root_path', '')}{template}"


class RateLimit:
    """A rate limit on the routes that depend on it.

    ```python
    router = APIRouter(dependencies=[Depends(RateLimit("10/minute", per="user"))])
    app.include_router(auth.router, dependencies=[Depends(RateLimit("5/minute"))])
    ```

    Each limited request reports its budget in the `RateLimit-*` headers (the
    tightest of every limit that applied); over budget, the request is refused
    with 429 `RATE_LIMITED` and `Retry-After` before the endpoint runs.

    Args:
        limit: `limits` notation (`"10/minute"`, `"100 per hour"`).
        per: Who is counted: `"ip"` (the client IP, behind trusted proxies),
            `"user"` (the authenticated user; never by IP, 401 without one) or any
            `KeyFunc` of your own.
        name: Shared bucket name: every route with this name draws on one
            budget. Unset gives each route (method and path template) its own.
        cost: Hits each request consumes.

    Raises:
        ValueError: The limit string does not parse, or `per` names no one.
    """

    def __init__(
        self,
        limit: Limit,
        *,
        per: Literal["ip", "user"] | KeyFunc = "ip",
        name: str | None = None,
        cost: int = 1,
    ) -> None:
        """Validate and store the limit."""
        self.item = parse_limit(limit)
        if isinstance(per, str):
            if per not in _PER:
                raise ValueError(f"RateLimit: per={per!r}; use 'ip', 'user' or a key function")
            per = _PER[per]
        #: The key function naming who the request is counted against.
        self.key: KeyFunc = per
        self.name = name
        self.cost = cost

    def __repr__(self) -> str:
        """Show the limit and bucket."""
        return f"RateLimit({self.item!s}, name={self.name!r})"

    async def __call__(self, request: Request) -> None:
        """Count the request; raise `RateLimitedError` when over budget."""
        resources = app_resources(request.app)
        if resources is None:
            return  # the lifespan did not run: nothing to count against
        identity = self.key(request)
        if inspect.isawaitable(identity):
            identity = await identity
        if identity is None:
            return
        if self.name is not None:
            bucket, policy = self.name, self.name
        else:
            bucket, policy = route_bucket(request), "route"
        result = await resources.limiter.hit(
            self.item, "route", bucket, identity, cost=self.cost, name=policy
        )
        report_rate_limit(request.scope, result)
        if not result.allowed:
            raise RateLimitedError(
                headers={"Retry-After": str(result.retry_after)},
                details={"retry_after": result.retry_after},
            )


def limited_router(router: APIRouter, *limits: RateLimit) -> APIRouter:
    """Wrap a router (one built by a factory) so every route also obeys `limits`.

    The original router is not changed; the returned one includes it with the
    limits as dependencies, so it can be passed to `create_app(routers=...)`.
    """
    wrapper = APIRouter()
    wrapper.include_router(router, dependencies=[Depends(limit) for limit in limits])
    return wrapper
