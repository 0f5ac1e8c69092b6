"""The shared state and helpers of the auth service's steps."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from functools import partial

from bastion.auth.audit import AuditEvent, AuditOutcome, AuditValue, audit
from bastion.auth.hooks import AuthHooks, RequestMeta
from bastion.auth.kit import AuthKit
from bastion.auth.models import AuthModels
from bastion.auth.principal import IssuedTokens, Principal
from bastion.auth.repositories import AuthRepository, UserRecord
from bastion.auth.schemas import UserOut
from bastion.auth.throttle import AuthThrottle, Report
from bastion.db.uow import UnitOfWork
from bastion.ratelimit.limiter import RateLimiter
from bastion.security import InvalidTokenError, generate_token, hash_token

__all__ = ["AuthCore"]


class AuthCore:
    """The unit of work, models, primitives and helpers every auth step shares."""

    def __init__(
        self,
        uow: UnitOfWork,
        *,
        models: AuthModels,
        kit: AuthKit,
        limiter: RateLimiter,
        hooks: AuthHooks | None = None,
        report: Report | None = None,
        meta: RequestMeta | None = None,
    ) -> None:
        """Bind the service to a unit of work, the host's models and the primitives.

        Args:
            uow: The request's unit of work.
            models: The host's auth models.
            kit: The primitives and auth settings.
            limiter: The app's limiter; the throttles count on its storage.
            hooks: The host's lifecycle hooks.
            report: Receives throttle results for the response's `RateLimit-*` headers.
            meta: Who is asking, for the audit events of steps not given one.
        """
        self.uow = uow
        self.models = models
        self.kit = kit
        self.hooks = hooks or AuthHooks()
        self.repo = AuthRepository(uow.session, models)
        self.throttle = AuthThrottle(limiter, kit, report)
        self.meta = meta or RequestMeta()

    def _audit(
        self,
        event: AuditEvent,
        outcome: AuditOutcome,
        *,
        user_id: uuid.UUID | None,
        meta: RequestMeta | None = None,
        **fields: AuditValue,
    ) -> None:
        """Record `event` now: for failures and state that persists on purpose."""
        client_ip = (meta or self.meta).ip
        audit(event, outcome, user_id=user_id, client_ip=client_ip, **fields)

    def _audit_on_commit(
        self,
        event: AuditEvent,
        *,
        user_id: uuid.UUID,
        meta: RequestMeta | None = None,
        **fields: AuditValue,
    ) -> None:
        """Record the success `event` once the unit of work commits (never if it rolls back)."""
        self.uow.after_commit(
            partial(self._audit, event, "success", user_id=user_id, meta=meta, **fields)
        )

    @staticmethod
    def user_out(user: UserRecord) -> UserOut:
        """The public view of a user record."""
        return UserOut.model_validate(user, from_attributes=True)

    async def _spend_hash(self, meta: RequestMeta | None) -> str | None:
        """Count a password hash in the client's budget; the client the hasher knows it by."""
        ip = None if meta is None else meta.ip
        if ip is not None:
            await self.throttle.spend(self.throttle.hashing(ip))
        return ip

    async def _issue(
        self,
        user: UserRecord,
        meta: RequestMeta,
        *,
        family_id: uuid.UUID | None = None,
        parent_id: uuid.UUID | None = None,
        absolute_expires_at: datetime | None = None,
    ) -> IssuedTokens:
        now = self.kit.now()
        absolute = absolute_expires_at or now + timedelta(seconds=self.kit.absolute_ttl)
        refresh_token = generate_token()
        family = await self.repo.add_session(
            user_id=user.id,
            family_id=family_id,
            parent_id=parent_id,
            token_hash=hash_token(refresh_token),
            now=now,
            expires_at=min(now + timedelta(seconds=self.kit.refresh_ttl), absolute),
            absolute_expires_at=absolute,
            user_agent=meta.user_agent,
            ip=meta.ip,
        )
        extra = dict(await self.hooks.access_claims(self.user_out(user)))
        extra["roles"] = list(user.roles)
        access = self.kit.tokens.issue_access_token(
            str(user.id), session_id=str(family), claims=extra
        )
        return IssuedTokens(
            access_token=access,
            refresh_token=refresh_token,
            expires_in=self.kit.tokens.access_ttl,
            session_id=family,
            user_id=user.id,
        )

    async def _user(self, principal: Principal) -> UserRecord:
        user = await self.repo.user_by_id(principal.id)
        if user is None or not user.is_active:
            raise InvalidTokenError("inactive")
        return user
