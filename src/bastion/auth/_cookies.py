"""Cookie mode: the token and CSRF cookies, with their names and attributes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from bastion.auth._principal import IssuedTokens
from bastion.auth._schemas import CookieSession, TokenPair
from bastion.security import CsrfFailedError

if TYPE_CHECKING:
    from bastion.auth._runtime import AuthRuntime
    from bastion.auth._sessions import SessionService

__all__ = [
    "ACCESS_COOKIE",
    "CSRF_COOKIE",
    "CSRF_HEADER",
    "REFRESH_COOKIE",
    "clear_auth_cookies",
    "refresh_cookie_path",
    "refresh_cookie_token",
    "set_auth_cookies",
    "tokens_response",
]

#: The access token: HttpOnly, `__Host-` (Secure, Path=/, no Domain).
ACCESS_COOKIE = "__Host-access_token"
#: The refresh token: HttpOnly, sent only to the auth routes (`/refresh`, `/logout`).
#: `__Host-` requires `Path=/`, so this one is `__Secure-` (Secure, no Domain) to keep
#: its narrow path.
REFRESH_COOKIE = "__Secure-refresh_token"
#: The CSRF token: readable by the page's script, echoed in `X-CSRF-Token`.
CSRF_COOKIE = "__Host-csrf_token"
#: The header an unsafe cookie-authenticated request carries the CSRF token in.
CSRF_HEADER = "x-csrf-token"


def set_auth_cookies(
    response: Response,
    issued: IssuedTokens,
    *,
    csrf_token: str,
    refresh_path: str,
    refresh_max_age: int,
) -> None:
    """Put a fresh token pair and its CSRF token into cookies.

    Args:
        response: The response to set them on.
        issued: The tokens.
        csrf_token: The CSRF token bound to the session.
        refresh_path: The auth routes' path (the refresh cookie is sent there only).
        refresh_max_age: Refresh cookie lifetime, in seconds.
    """
    common = {"secure": True, "samesite": "lax"}
    response.set_cookie(
        ACCESS_COOKIE,
        issued.access_token,
        max_age=issued.expires_in,
        path="/",
        httponly=True,
        **common,  # type: ignore[arg-type]  # literal values of set_cookie's keywords
    )
    response.set_cookie(
        REFRESH_COOKIE,
        issued.refresh_token,
        max_age=refresh_max_age,
        path=refresh_path,
        httponly=True,
        **common,  # type: ignore[arg-type]  # literal values of set_cookie's keywords
    )
    response.set_cookie(
        CSRF_COOKIE,
        csrf_token,
        max_age=refresh_max_age,
        path="/",
        httponly=False,
        **common,  # type: ignore[arg-type]  # literal values of set_cookie's keywords
    )


def clear_auth_cookies(response: Response, *, refresh_path: str) -> None:
    """Expire every auth cookie (logout)."""
    response.delete_cookie(ACCESS_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
    response.delete_cookie(
        REFRESH_COOKIE, path=refresh_path, secure=True, httponly=True, samesite="lax"
    )
    response.delete_cookie(CSRF_COOKIE, path="/", secure=True, samesite="lax")


def refresh_cookie_path(request: Request, own_path: str) -> str:
    """The auth routes' path as clients reach it: the refresh cookie's `Path`.

    The cookie goes to `/refresh` and to `/logout`, so a browser whose access
    cookie has expired can still end its session. The auth routes have no path
    parameters, so the request's path is the calling route's own path
    (`own_path`, e.g. `/login`) behind every prefix the router sits under: its
    own, those it was included with (at any depth), the API prefix and the
    ASGI root path.
    """
    path: str = request.scope["path"]
    return path.removesuffix(own_path) or "/"


async def refresh_cookie_token(
    request: Request, service: SessionService, auth: AuthRuntime
) -> str | None:
    """The refresh cookie's token, its CSRF token checked; `None` unless it names a session.

    A cookie naming no session (unknown, or from another database) counts as no
    cookie: `/refresh` answers 401 all the same, and `/logout` falls back to
    the access cookie.

    Raises:
        CsrfFailedError: `X-CSRF-Token` is missing, or not the session's (403).
    """
    token = request.cookies.get(REFRESH_COOKIE)
    if token is None:
        return None
    family = await service.session_of_refresh_token(token)
    if family is None:
        return None
    header = request.headers.get(CSRF_HEADER)
    cookie = request.cookies.get(CSRF_COOKIE)
    if not auth.csrf.verify_double_submit(header, cookie, str(family)):
        raise CsrfFailedError()
    return token


def tokens_response(
    auth: AuthRuntime, issued: IssuedTokens, response: Response, refresh_path: str
) -> TokenPair | CookieSession:
    """The body a route issuing `issued` answers; in cookie mode, the cookies set on `response`."""
    if not auth.cookie_mode:
        return TokenPair(
            access_token=issued.access_token,
            refresh_token=issued.refresh_token,
            expires_in=issued.expires_in,
        )
    csrf_token = auth.csrf.generate(str(issued.session_id))
    set_auth_cookies(
        response,
        issued,
        csrf_token=csrf_token,
        refresh_path=refresh_path,
        refresh_max_age=auth.refresh_ttl,
    )
    return CookieSession(expires_in=issued.expires_in, csrf_token=csrf_token)
