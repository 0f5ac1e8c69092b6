"""`AuthConfig`: what a host plugs into the auth feature."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel

from bastion.auth.hooks import AuthHooks
from bastion.auth.models import AuthModels
from bastion.auth.schemas import UserCreate, UserOut
from bastion.security import Clock, PasswordCheck, system_clock

__all__ = ["AuthConfig"]


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """What the host plugs into the auth feature.

    Attributes:
        models: The host's concrete auth models.
        hooks: Lifecycle hooks (audit, events, extra claims).
        user_schema: The response model of `/register` and `/me` (a `UserOut` subclass
            may add columns of the host's user model).
        user_create_schema: The body of `/register` (extra fields become user columns).
        password_checks: Extra password checks (a breached-password service, ...).
        clock: The time source (tests pass a controllable one).
    """

    models: AuthModels
    hooks: AuthHooks = field(default_factory=AuthHooks)
    user_schema: type[BaseModel] = UserOut
    user_create_schema: type[UserCreate] = UserCreate
    password_checks: Sequence[PasswordCheck] = ()
    clock: Clock = system_clock
