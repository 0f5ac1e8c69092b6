"""The one envelope renderer and the orjson response it returns."""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from starlette.responses import Response

from bastion.core import get_request_id, record_error_code
from bastion.errors._types import BastionError

__all__ = ["JSONResponse", "error_response", "render_error"]

_JSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def _scrub(value: object) -> object:
    """Make strings encodable: lone surrogates (from client input) become U+FFFD."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, Mapping):
        return {str(_scrub(k)): _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def dumps(content: object) -> bytes:
    """Serialize to JSON with orjson, replacing text that cannot be encoded."""
    try:
        return orjson.dumps(content, option=_JSON_OPTIONS)
    except orjson.JSONEncodeError:
        return orjson.dumps(_scrub(content), option=_JSON_OPTIONS, default=str)


class JSONResponse(Response):
    """A JSON response rendered with orjson."""

    media_type = "application/json"

    def render(self, content: object) -> bytes:
        """Serialize `content` to JSON bytes."""
        return dumps(content)


def render_error(
    code: str,
    message: str,
    *,
    status_code: int,
    details: object = None,
    headers: Mapping[str, str] | None = None,
    request_id: str | None = None,
) -> Response:
    """Build the one error envelope every bastion error response uses.

    The body is `{"error": {"code", "message", "details", "request_id"}}`. The
    request id defaults to the current request's (from the context variable).

    Args:
        code: Stable UPPER_SNAKE error code.
        message: Client-safe message.
        status_code: HTTP status.
        details: Client-safe structured details, or `None`.
        headers: Extra response headers.
        request_id: Overrides the id taken from the request context.

    Returns:
        A ready-to-send ASGI response.
    """
    record_error_code(code)
    body = {
        "error": {
            "code": code,
            "message": message,
            "details": details,
            "request_id": request_id if request_id is not None else get_request_id(),
        }
    }
    return JSONResponse(body, status_code=status_code, headers=dict(headers or {}))


def error_response(exc: BastionError, *, request_id: str | None = None) -> Response:
    """Render a `BastionError` into the envelope."""
    return render_error(
        exc.code,
        exc.message,
        status_code=exc.status_code,
        details=exc.details,
        headers=exc.headers,
        request_id=request_id,
    )
