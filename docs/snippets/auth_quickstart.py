"""Auth quickstart: models from the mixins, the auth feature, and protected routes."""

from fastapi import APIRouter, Depends, FastAPI
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bastion import create_app
from bastion.auth import (
    Auth,
    CurrentUser,
    MfaChallengeMixin,
    RecoveryCodeMixin,
    RefreshSessionMixin,
    UserMixin,
    UserOut,
    require_roles,
)
from bastion.core import BastionSettings
from bastion.db import NAMING_CONVENTION
from bastion.ratelimit import RateLimit, limited_router


class Base(DeclarativeBase):  # in an app, use `bastion.db.Base` (with Alembic migrations)
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# 1. Concrete models: the mixins carry every column auth needs; add your own.
class User(UserMixin, Base):
    __tablename__ = "users"
    display_name: Mapped[str | None] = mapped_column(default=None)


class AuthSession(RefreshSessionMixin, Base):
    __tablename__ = "auth_sessions"


class RecoveryCode(RecoveryCodeMixin, Base):
    __tablename__ = "auth_recovery_codes"


class MfaChallenge(MfaChallengeMixin, Base):
    __tablename__ = "auth_mfa_challenges"


# 2. Your own user view: a UserOut subclass may show extra columns.
class Profile(UserOut):
    display_name: str | None


# 3. The feature takes the models; without the two MFA models it has no MFA routes.
def auth_feature() -> Auth:
    return Auth(
        user=User,
        session=AuthSession,
        recovery_code=RecoveryCode,
        mfa_challenge=MfaChallenge,
        user_schema=Profile,
    )


# 4. Protect your routes with the dependencies.
def reports_router() -> APIRouter:
    router = APIRouter(prefix="/reports", tags=["reports"])

    @router.get("/mine")
    async def mine(user: CurrentUser) -> dict[str, str]:
        return {"owner": str(user.id)}

    @router.get("/all", dependencies=[require_roles("admin")])
    async def everything() -> dict[str, bool]:
        return {"admin": True}

    # --8<-- [start:user-limit]
    # A per-user limit: it authenticates the caller itself, so it counts each user
    # apart even though route dependencies run before `CurrentUser`.
    @router.post("/export", dependencies=[Depends(RateLimit("2/hour", per="user"))])
    async def export(user: CurrentUser) -> dict[str, str]:
        return {"queued_for": str(user.id)}

    # --8<-- [end:user-limit]

    return router


# 5. Mount the auth router: /api/v1/auth/register, /login, /refresh, /me, ...
def build_app(settings: BastionSettings) -> FastAPI:
    auth = auth_feature()
    return create_app(settings, routers=[auth.router, reports_router()])


# --8<-- [start:router-limit]
# 6. A stricter budget on every route of a factory-built router, without forking it:
#    every auth route draws on one `auth` budget of 10 a minute per client IP.
def build_limited_app(settings: BastionSettings) -> FastAPI:
    auth = auth_feature()
    limited = limited_router(auth.router, RateLimit("10/minute", name="auth"))
    return create_app(settings, routers=[limited, reports_router()])


# --8<-- [end:router-limit]
