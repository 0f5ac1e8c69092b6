"""How the notes service plugs in bastion's auth: its models, hooks and limits."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from bastion.auth import AuthConfig, auth_router
from notes_app.config import NotesSettings
from notes_app.limits import auth_limits
from notes_app.models import AUTH_MODELS


def auth_config() -> AuthConfig:
    """The service's auth configuration: its user and session models."""
    return AuthConfig(models=AUTH_MODELS)


def auth_routes(settings: NotesSettings) -> APIRouter:
    """`/auth`: bastion's auth router, with the shared `auth` budget on its entry points.

    Login, registration and the second factor also draw on the service's
    shared `auth` budget per client IP (`notes_app.limits`), on top of the
    per-account login throttling the auth feature does itself.
    """
    limits = [Depends(limit) for limit in auth_limits(settings)]
    return auth_router(
        auth_config(),
        dependencies={"login": limits, "register": limits, "mfa_verify": limits},
    )
