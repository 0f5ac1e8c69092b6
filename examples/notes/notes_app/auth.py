"""How the notes service plugs in bastion's auth: its models, hooks and limits."""

from __future__ import annotations

from fastapi import Depends

from bastion.auth import Auth
from notes_app.config import NotesSettings
from notes_app.limits import auth_limits
from notes_app.models import AuthSession, MfaChallenge, RecoveryCode, User


def notes_auth(settings: NotesSettings) -> Auth:
    """The service's auth feature: its user and session models, and the `auth` budget.

    Login, registration and the second factor also draw on the service's
    shared `auth` budget per client IP (`notes_app.limits`), on top of the
    per-account login throttling the auth feature does itself. Its `router`
    serves `/auth`.
    """
    limits = [Depends(limit) for limit in auth_limits(settings)]
    return Auth(
        user=User,
        session=AuthSession,
        recovery_code=RecoveryCode,
        mfa_challenge=MfaChallenge,
        dependencies={"login": limits, "register": limits, "mfa_verify": limits},
    )
