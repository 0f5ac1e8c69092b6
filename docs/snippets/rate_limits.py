"""Rate limits in a host app: a stricter budget for a factory router, and login throttling."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import BaseModel

from bastion import create_app
from bastion.core import BastionSettings
from bastion.errors import RateLimitedError, UnauthenticatedError
from bastion.ratelimit import RateLimit, limited_router
from bastion.web import AppResources


class LoginIn(BaseModel):
    email: str
    password: str


def auth_router() -> APIRouter:
    """Stands for a router built by a factory you do not edit."""
    router = APIRouter(prefix="/auth")

    @router.post("/login")
    async def login(body: LoginIn, resources: AppResources) -> dict[str, str]:
        # Throttle failed logins per account with the limiter's own API:
        # peek first (no cost), count only failures, forget them on success.
        limiter = resources.limiter
        key = ("login-failures", body.email.lower())
        if not (await limiter.peek("5/15 minutes", *key)).allowed:
            raise RateLimitedError("Too many failed logins; try again later.")
        if body.password != "correct horse":  # noqa: S105  # stands for your real check
            await limiter.hit("5/15 minutes", *key)
            return {"status": "denied"}
        await limiter.reset("5/15 minutes", *key)
        return {"status": "ok"}

    return router


async def api_key_user(request: Request) -> None:
    """Stands for your own authentication: it names the caller for `per="user"`.

    (With bastion's auth router mounted, a `per="user"` limit authenticates by itself.)
    """
    key = request.headers.get("x-api-key")
    if key is None:
        raise UnauthenticatedError()
    request.state.user_id = key  # stands for the key's owner


def notes_router() -> APIRouter:
    """A router that limits each user on one costly route."""
    router = APIRouter(prefix="/notes")

    # Dependencies run in order: the one that authenticates comes before the limit.
    limits = [Depends(api_key_user), Depends(RateLimit("2/hour", per="user"))]

    @router.post("/export", dependencies=limits)
    async def export() -> dict[str, str]:
        return {"status": "queued"}

    return router


def create_limited_app(settings: BastionSettings) -> FastAPI:
    """Every auth route shares one stricter per-IP budget on top of the global limit."""
    strict_auth = limited_router(auth_router(), RateLimit("10/minute", name="auth"))
    return create_app(settings, routers=[strict_auth, notes_router()])
