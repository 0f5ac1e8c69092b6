"""Exception handlers that render framework and bastion errors into the envelope."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING

from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import StatementError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Host, Match, Mount

from bastion.db import DatabaseUnavailableError, translate_errors
from bastion.errors import BastionError, UnencodableBodyError, error_response, render_error

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["install_exception_handlers", "validation_details"]

logger = logging.getLogger("bastion.errors")

# Codes for the statuses Starlette and FastAPI raise `HTTPException` with themselves.
_HTTP_CODES: dict[int, tuple[str, str]] = {
    400: ("BAD_REQUEST", "The request is malformed."),
    401: ("NOT_AUTHENTICATED", "Authentication is required."),
    403: ("FORBIDDEN", "You do not have permission to do this."),
    404: ("NOT_FOUND", "The resource was not found."),
    405: ("METHOD_NOT_ALLOWED", "The method is not allowed for this resource."),
    413: ("PAYLOAD_TOO_LARGE", "The request body is too large."),
    415: ("UNSUPPORTED_MEDIA_TYPE", "The request's content type is not supported."),
}


def _phrase(status_code: int) -> str:
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return "Error"


def _http_code(status_code: int) -> tuple[str, str]:
    known = _HTTP_CODES.get(status_code)
    if known is not None:
        return known
    phrase = _phrase(status_code)
    return phrase.upper().replace(" ", "_").replace("-", "_"), f"{phrase}."


def validation_details(errors: Sequence[object]) -> list[dict[str, object]]:
    """Reduce Pydantic errors to `{"loc", "type", "msg"}` (no `input` or `ctx` echo)."""
    details: list[dict[str, object]] = []
    for error in errors:
        if not isinstance(error, dict):
            continue
        loc = error.get("loc", ())
        details.append(
            {
                "loc": list(loc) if isinstance(loc, list | tuple) else [str(loc)],
                "type": str(error.get("type", "value_error")),
                "msg": str(error.get("msg", "Invalid value")),
            }
        )
    return details


# The methods a 405's `Allow` can name: every standard method a route may serve.
_METHODS = ("CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE")


def _allowed_methods(request: Request) -> str | None:
    """Every method any route serves at this path (Starlette names only the first route's).

    Each route is asked through Starlette's public `matches` with the request's
    path and each standard method; mounted apps (which match any method) answer
    their own 405s and are left out.
    """
    path, root_path = request.scope.get("path", ""), request.scope.get("root_path", "")
    methods = []
    for method in _METHODS:
        probe = {"type": "http", "method": method, "path": path, "root_path": root_path}
        for route in request.app.routes:
            if isinstance(route, Mount | Host):
                continue
            if route.matches(probe)[0] is Match.FULL:
                methods.append(method)
                break
    if "GET" in methods and "HEAD" not in methods:  # the edge serves HEAD on a GET route
        methods.insert(methods.index("GET") + 1, "HEAD")
    return ", ".join(methods) if methods else None


async def _bastion_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BastionError)  # noqa: S101  # registered for this type only
    if isinstance(exc, DatabaseUnavailableError):
        # An outage fails every request alike: one line each, no traceback.
        logger.warning("database unavailable: %s", _cause(exc))
    return error_response(exc)


def _cause(exc: BaseException) -> str:
    """The driver error behind `exc`, without the SQL or parameters a wrapper adds."""
    cause = exc.__cause__
    if cause is None:
        return "no cause recorded"
    original = getattr(cause, "orig", None)
    if isinstance(original, BaseException):
        cause = original
    return f"{type(cause).__name__}: {cause}" if str(cause) else type(cause).__name__


async def _database_error(request: Request, exc: Exception) -> Response:
    """A driver error from a route's own statement: translated as a repository's would be.

    What `translate_errors` leaves alone (a syntax error, a missing table) is
    a server bug: raised again, for the catch-all's 500.
    """
    try:
        with translate_errors():
            raise exc
    except BastionError as error:
        return await _bastion_error(request, error)


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)  # noqa: S101  # registered for this type only
    code, default_message = _http_code(exc.status_code)
    # A host's own `HTTPException(404, "Note not found")` keeps its message;
    # Starlette's bare phrase ("Not Found") is replaced by the sentence.
    message = default_message
    if isinstance(exc.detail, str) and exc.detail != _phrase(exc.status_code):
        message = exc.detail
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        allow = _allowed_methods(request)
        if allow:
            headers["Allow"] = allow
    return render_error(code, message, status_code=exc.status_code, headers=headers)


async def _request_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)  # noqa: S101  # registered for this type only
    return render_error(
        "VALIDATION_ERROR",
        "The request is invalid.",
        status_code=422,
        details=validation_details(exc.errors()),
    )


async def _unencodable_body(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, UnencodableBodyError)  # noqa: S101  # registered for this type only
    return render_error(
        "VALIDATION_ERROR",
        "The request is invalid.",
        status_code=422,
        details=[{"loc": exc.loc, "type": exc.error_type, "msg": str(exc.detail)}],
    )


def install_exception_handlers(app: FastAPI) -> None:
    """Register the envelope handlers on `app`.

    Unhandled exceptions are not registered here: the request-id layer's
    catch-all renders them, so a 500 still carries the id. SQLAlchemy's
    errors are, for statements a route runs itself rather than through a
    repository: `translate_errors` answers them (an outage is a 503), and
    what it leaves alone goes on to the catch-all.
    Nor is `UnicodeEncodeError`: text the client sent is checked at the edge
    (`UnicodeBodyMiddleware`, a 422), so one raised later is a server bug,
    logged and answered 500 like any other.
    """
    app.add_exception_handler(BastionError, _bastion_error)
    app.add_exception_handler(HTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(UnencodableBodyError, _unencodable_body)
    app.add_exception_handler(StatementError, _database_error)
    app.add_exception_handler(PoolTimeoutError, _database_error)
