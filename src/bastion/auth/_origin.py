"""Login CSRF in cookie mode: the credential routes refuse requests sent by other sites."""

from __future__ import annotations

from fastapi import Depends
from starlette.requests import Request

from bastion.auth._dependencies import AuthRuntimeDep
from bastion.security import CsrfFailedError
from bastion.web import AppSettings

__all__ = ["SameSiteOrigin", "require_same_site"]


def _normalize(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def _allowed(request: Request, origin: str, allow_list: list[str]) -> bool:
    """Whether `origin` is the app's own or one the CORS allow-list names exactly."""
    # A `*` in the allow-list never counts: CORS refuses it credentials, and a
    # session cookie is exactly that.
    if any(_normalize(entry) == origin for entry in allow_list if entry.strip() != "*"):
        return True
    # The Host the browser sent names the site it posted to; `https` is accepted
    # besides the request's own scheme because TLS usually ends at a proxy.
    host = request.headers.get("host", "").lower()
    return bool(host) and origin in (f"{request.url.scheme}://{host}", f"https://{host}")


async def require_same_site(request: Request, auth: AuthRuntimeDep, settings: AppSettings) -> None:
    """In cookie mode, refuse a credential request (login, ...) sent by another site.

    Refused with 403 `CSRF_FAILED` when the browser says the request is
    cross-site (`Sec-Fetch-Site: cross-site`), or when it names an `Origin`
    that is neither the app's own (the request's `Host`, over its scheme or
    `https`) nor in `BASTION_CORS_ALLOW_ORIGINS`. A request with neither
    header does not come from a browser page and passes. In Bearer mode
    nothing is checked: the routes set no cookie.

    Raises:
        CsrfFailedError: The request comes from another site.
    """
    if not auth.cookie_mode:
        return
    headers = request.headers
    origin = headers.get("origin")
    if headers.get("sec-fetch-site", "").lower() == "cross-site" or (
        origin is not None
        and not _allowed(request, _normalize(origin), settings.cors_allow_origins)
    ):
        raise CsrfFailedError("The request was sent by another site.")


#: The same-site check as a route dependency: login, registration and the second factor.
SameSiteOrigin = Depends(require_same_site)
