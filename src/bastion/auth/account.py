"""The account steps of the auth service: password change, activation, roles, the user list."""

from __future__ import annotations

import uuid
from dataclasses import replace

from bastion.auth._core import AuthCore
from bastion.auth.audit import AuditEvent
from bastion.auth.errors import InvalidCredentialsError
from bastion.auth.hooks import RequestMeta
from bastion.auth.principal import Principal
from bastion.auth.schemas import UserOut, normalize_email
from bastion.errors import NotFoundError, PermissionDeniedError

__all__ = ["ADMIN_ROLE", "AccountSteps"]

#: The role `GET /admin/users` and the admin command use.
ADMIN_ROLE = "admin"


class AccountSteps(AuthCore):
    """What a user does to their account, and what an administrator does to users."""

    async def change_password(
        self, principal: Principal, current: str, new: str, meta: RequestMeta | None = None
    ) -> None:
        """Change the password; revoke every other session of the user.

        Wrong current passwords count as in `login` (`AuthThrottle.password`).

        Raises:
            InvalidCredentialsError: `current` is wrong.
            WeakPasswordError: `new` fails the policy.
            RateLimitedError: A budget is spent, or the client has a hash under way.
            ServiceUnavailableError: The throttle's storage is down, or the hash queue full.
        """
        user = await self._user(principal)
        await self.uow.rollback()  # as in `login`: hold nothing while argon2 runs
        budgets = self.throttle.password(user.id, user.email)
        await self.throttle.check(budgets)
        client = await self._spend_hash(meta)
        if not await self.kit.hasher.verify(user.password_hash, current, client=client):
            await self.throttle.fail(budgets)
            raise InvalidCredentialsError()
        await self.throttle.forgive(budgets)
        await self.kit.policy.validate(new, email=user.email)
        now = self.kit.now()
        new_hash = await self.kit.hasher.hash(new, client=client)
        await self.repo.update_user(user.id, now, password_hash=new_hash)
        await self.repo.revoke_families(now, user_id=user.id, keep_family=principal.session_id)
        await self.hooks.after_password_change(self.user_out(user))
        self._audit_on_commit(AuditEvent.PASSWORD_CHANGED, user_id=user.id, meta=meta)

    async def set_active(self, user_id: uuid.UUID, *, active: bool) -> None:
        """Activate or deactivate a user; deactivation revokes every session.

        Access tokens of a deactivated user stop working at their next request
        (unless tokens are stateless).
        """
        now = self.kit.now()
        await self.repo.update_user(user_id, now, is_active=active)
        if not active:
            await self.repo.revoke_families(now, user_id=user_id)
        event = AuditEvent.USER_ACTIVATED if active else AuditEvent.USER_DEACTIVATED
        self._audit_on_commit(event, user_id=user_id)

    async def grant_role(self, email: str, role: str) -> UserOut:
        """Add `role` to the user with this e-mail (for admin commands, not HTTP).

        Returns:
            The user as it is after the change (`role` among its roles).

        Raises:
            NotFoundError: No such user.
        """
        user = await self.repo.user_by_email(normalize_email(email))
        if user is None:
            raise NotFoundError()
        if role not in user.roles:
            user = replace(user, roles=[*user.roles, role])
            await self.repo.update_user(user.id, self.kit.now(), roles=user.roles)
            self._audit_on_commit(AuditEvent.ROLE_GRANTED, user_id=user.id, role=role)
        return self.user_out(user)

    async def list_users(
        self, principal: Principal, *, limit: int = 50, offset: int = 0
    ) -> list[UserOut]:
        """Every user, for administrators only.

        Raises:
            PermissionDeniedError: The principal lacks the `admin` role.
        """
        if not principal.has_roles(ADMIN_ROLE):
            raise PermissionDeniedError()
        users = await self.repo.list_users(limit=limit, offset=offset)
        return [self.user_out(user) for user in users]
