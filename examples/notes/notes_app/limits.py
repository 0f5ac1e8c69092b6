"""The notes service's own rate limits: stricter budgets for the auth routes."""

from __future__ import annotations

from fastapi import APIRouter

from bastion.ratelimit import RateLimit, limited_router
from notes_app.config import NotesSettings


def auth_limits(settings: NotesSettings) -> list[RateLimit]:
    """The limits every auth route obeys, on top of the global one.

    One shared `auth` budget per client IP: login, registration and password
    reset draw on it together, so a script cannot spread guesses across them.
    """
    return [RateLimit(settings.auth_rate_limit, name="auth")]


def strict_auth(router: APIRouter, settings: NotesSettings) -> APIRouter:
    """Mount a router built by a factory (the auth router) under the auth limits.

    The factory's router is not forked or edited: it is included in a wrapper
    router whose dependencies are the limits.
    """
    return limited_router(router, *auth_limits(settings))
