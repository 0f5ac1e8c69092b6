"""The user factory and the authenticated-client factory."""

from __future__ import annotations

import itertools
import secrets
import uuid
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from starlette.routing import NoMatchFound

from bastion.auth import CSRF_HEADER, AuthHooks, AuthRuntime
from bastion.testing._app import TestApp

if TYPE_CHECKING:  # the clients come from `TestApp.client`, which imports httpx
    import httpx

__all__ = ["ClientFactory", "LoginMode", "UserCredentials", "UserFactory"]

#: How an authenticated client carries its credentials.
LoginMode = Literal["bearer", "cookie"]


@dataclass(frozen=True, slots=True)
class UserCredentials:
    """A user the factory created, with the password it was given.

    Attributes:
        id: The user's id.
        email: The normalized e-mail (the login name).
        password: The plain password, to log in with.
        roles: The roles granted.
        is_active: False for a deactivated user.
    """

    id: uuid.UUID
    email: str
    password: str
    roles: tuple[str, ...]
    is_active: bool


def _auth(running: TestApp) -> AuthRuntime:
    auth = running.resources.auth
    if auth is None:
        raise RuntimeError("the app under test has no auth feature: mount `Auth(...).router`")
    return auth


class UserFactory:
    """Creates users straight through `AccountService`, in the test's transaction.

    The password policy applies; the host's `AuthHooks` do not run (no welcome
    mail for a fixture). Each call without an e-mail gets a new one.
    """

    def __init__(self, running: TestApp) -> None:
        """Create users in `running`'s database."""
        self._running = running
        self._numbers = itertools.count(1)

    async def __call__(
        self,
        email: str | None = None,
        *,
        password: str | None = None,
        roles: Sequence[str] = (),
        active: bool = True,
        extra: Mapping[str, object] | None = None,
    ) -> UserCredentials:
        """Create a user and return its credentials.

        Args:
            email: Its e-mail; `user<n>@example.com` when omitted.
            password: Its password; a random strong one when omitted.
            roles: Roles to grant (`"admin"`, ...).
            active: False to create a deactivated user.
            extra: Values of the host's extra user columns.

        Raises:
            RuntimeError: The app has no auth feature.
        """
        auth = _auth(self._running)
        email = email if email is not None else f"user{next(self._numbers)}@example.com"
        password = password if password is not None else secrets.token_urlsafe(18)
        async with self._running.uow() as uow:
            # Without the host's hooks: no welcome mail for a fixture.
            service = replace(auth, hooks=AuthHooks()).accounts(
                uow, self._running.resources.limiter
            )
            user = await service.create_user(email, password, roles=roles, extra=extra)
            if not active:
                await service.set_active(user.id, active=False)
        return UserCredentials(
            id=user.id, email=user.email, password=password, roles=tuple(roles), is_active=active
        )


class ClientFactory:
    """Builds clients logged in as a user, through the app's own login route.

    ```python
    client = await bastion_client_factory(await bastion_user_factory())
    cookie_client = await bastion_client_factory(user, mode="cookie")
    ```

    Every client is closed when the test ends.
    """

    def __init__(self, running: TestApp, users: UserFactory, stack: AsyncExitStack) -> None:
        """Log in to `running`; clients close with `stack`."""
        self._running = running
        self._users = users
        self._stack = stack

    async def __call__(
        self, user: UserCredentials | None = None, *, mode: LoginMode = "bearer"
    ) -> httpx.AsyncClient:
        """Log `user` in (a new user when omitted) and return a client carrying the session.

        Args:
            user: Whom to log in as (it must not have MFA on).
            mode: `"bearer"`: an `Authorization: Bearer` header. `"cookie"`: the
                session cookies over `https://testserver`, and the CSRF header
                every unsafe request needs (the app needs `auth_cookie_mode=True`).

        Raises:
            RuntimeError: No login route, cookie mode off, or the login failed.
        """
        auth = _auth(self._running)
        if mode == "cookie" and not auth.cookie_mode:
            raise RuntimeError(
                "a cookie-mode client needs auth_cookie_mode=True: "
                "@pytest.mark.bastion_settings(auth_cookie_mode=True)"
            )
        user = user if user is not None else await self._users()
        try:
            login = self._running.app.url_path_for("auth_login")
        except NoMatchFound as exc:
            raise RuntimeError("the app under test has no login route (auth_login)") from exc
        client = await self._stack.enter_async_context(self._running.client(https=mode == "cookie"))
        response = await client.post(
            login, data={"username": user.email, "password": user.password}
        )
        body = response.json() if response.status_code == 200 else {}
        wanted = "access_token" if mode == "bearer" else "csrf_token"
        if not isinstance(body, dict) or not isinstance(body.get(wanted), str):
            raise RuntimeError(
                f"logging in {user.email} failed: {response.status_code} {response.text}"
            )
        if mode == "bearer":
            client.headers["Authorization"] = f"Bearer {body[wanted]}"
        else:
            client.headers[CSRF_HEADER] = body[wanted]
        return client
