"""Lifecycle hooks: audit and events after each auth step, and extra access-token claims."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from bastion.auth._schemas import UserOut

__all__ = ["AuthHooks", "RequestMeta"]


@dataclass(frozen=True, slots=True)
class RequestMeta:
    """Who is asking: recorded on sessions, keyed by throttling, passed to hooks.

    Attributes:
        ip: The client address (behind trusted proxies only), or `None`.
        user_agent: The `User-Agent` header, cut to 255 characters, or `None`.
    """

    ip: str | None = None
    user_agent: str | None = None


class AuthHooks:
    """Override any method to react to an auth event; every default does nothing.

    Every hook but `after_token_reuse` runs before the request's unit of work
    commits: one that raises aborts the whole request, which answers the
    hook's error (a `BastionError` its envelope, anything else a 500) and rolls
    back everything the step wrote. `after_token_reuse` runs after the family's
    revocation is committed, which stays. Hooks get DTOs, not the unit of
    work: record what they must in a store or queue of their own, and keep
    them fast.

    ```python
    class AuditHooks(AuthHooks):
        async def after_token_reuse(self, user_id, family_id, meta):
            log.warning("refresh token reuse", extra={"user": str(user_id)})
    ```
    """

    async def after_register(self, user: UserOut) -> None:
        """A user registered (or was created by the admin command)."""

    async def after_login(self, user: UserOut, meta: RequestMeta) -> None:
        """A login completed (after the second factor, when MFA is on)."""

    async def after_failed_login(self, email: str, meta: RequestMeta) -> None:
        """A login failed: wrong password, unknown e-mail or inactive account."""

    async def after_logout(self, user_id: uuid.UUID, family_id: uuid.UUID) -> None:
        """A session was logged out."""

    async def after_password_change(self, user: UserOut) -> None:
        """A user changed their password (their other sessions are revoked)."""

    async def after_mfa_change(self, user: UserOut, *, enabled: bool) -> None:
        """A user turned MFA on or off (their other sessions are revoked)."""

    async def after_token_reuse(
        self, user_id: uuid.UUID, family_id: uuid.UUID, meta: RequestMeta
    ) -> None:
        """A spent refresh token was presented again; the family's revocation is committed."""

    async def access_claims(self, user: UserOut) -> Mapping[str, object]:
        """Extra claims for the user's access tokens, e.g. `{"scope": "notes:read"}`.

        Registered claims (`sub`, `exp`, ...) and `roles` cannot be set here.
        """
        return {}
