"""OpenAPI: the error envelope as a component and documented error responses."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from bastion.web._preconditions import if_match
from bastion.web._routes import OperationRoute, depends_on, operation_routes

if TYPE_CHECKING:
    from fastapi import FastAPI

#: Extra statuses one route can answer with (for example the edge's 413/429/504).
RouteStatuses = Callable[[OperationRoute], Iterable[int]]


__all__ = [
    "ErrorBody",
    "ErrorEnvelope",
    "OperationRoute",
    "RouteStatuses",
    "error_responses",
    "install_openapi",
    "operation_routes",
]

_DESCRIPTIONS: dict[int, str] = {
    400: "Malformed request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Payload too large",
    422: "Validation error",
    429: "Rate limited",
    500: "Internal error",
    503: "Service unavailable",
    504: "Request timeout",
}

_ENVELOPE_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}


class ErrorBody(BaseModel):
    """The inside of the error envelope."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(description="Stable UPPER_SNAKE error code.", examples=["NOT_FOUND"])
    message: str = Field(description="Human-readable message, safe to show.")
    details: object = Field(default=None, description="Structured details, or null.")
    request_id: str | None = Field(default=None, description="The request's X-Request-ID.")


class ErrorEnvelope(BaseModel):
    """Every error response: `{"error": {"code", "message", "details", "request_id"}}`."""

    model_config = ConfigDict(frozen=True)

    error: ErrorBody


def error_responses(*status_codes: int) -> dict[int | str, dict[str, object]]:
    """Document error responses of a route, for `@router.get(..., responses=...)`.

    Args:
        *status_codes: The error statuses the route can answer with.

    Returns:
        A `responses` mapping whose entries use the envelope schema.
    """
    return {
        code: {"model": ErrorEnvelope, "description": _DESCRIPTIONS.get(code, "Error")}
        for code in status_codes
    }


# The errors that say when to try again (a key in flight, a limit, an outage).
_RETRY_AFTER_STATUSES = frozenset({409, 429, 503})
_RETRY_AFTER = {
    "description": "Seconds to wait before trying again.",
    "schema": {"type": "integer", "minimum": 0},
}
_ETAG = {
    "description": 'The version of what the response holds (`"<version>"`), for `If-Match`.',
    "schema": {"type": "string"},
}


def _envelope_response(status: int) -> dict[str, object]:
    response: dict[str, object] = {
        "description": _DESCRIPTIONS.get(status, "Error"),
        "content": {"application/json": {"schema": dict(_ENVELOPE_REF)}},
    }
    if status in _RETRY_AFTER_STATUSES:
        response["headers"] = {"Retry-After": dict(_RETRY_AFTER)}
    return response


def install_openapi(
    app: FastAPI, *, always: Iterable[int] = (500,), per_route: RouteStatuses | None = None
) -> None:
    """Make the OpenAPI document describe the envelope on every operation.

    FastAPI documents 422 with its own `HTTPValidationError` schema; this swaps in
    the envelope, adds the statuses every route can answer with (`always`, for
    example 500 and the edge middleware's 413/429/504), and registers the
    `ErrorEnvelope` component. `per_route` adds the statuses a given route
    can answer with (413 where it takes a body, 429 where it is limited...).
    """
    original = app.openapi
    statuses = sorted(set(always))

    def openapi() -> dict[str, object]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = original()
        components = schema.setdefault("components", {})
        defs = components.setdefault("schemas", {})
        defs.update(
            ErrorEnvelope.model_json_schema(ref_template="#/components/schemas/{model}")["$defs"]
        )
        defs["ErrorEnvelope"] = {
            k: v
            for k, v in ErrorEnvelope.model_json_schema(
                ref_template="#/components/schemas/{model}"
            ).items()
            if k != "$defs"
        }
        extra: dict[tuple[str, str], list[int]] = {}
        tagged: set[tuple[str, str]] = set()  # operations whose answers carry an `ETag`
        for route in operation_routes(app):
            codes = sorted(set(per_route(route))) if per_route is not None else []
            versioned = route.dependant is not None and depends_on(
                route.dependant, lambda call: call is if_match
            )
            for method in route.methods or ():
                extra[(route.path_format, method.lower())] = codes
                if versioned:
                    tagged.add((route.path_format, method.lower()))
        for path, path_item in schema.get("paths", {}).items():
            for method, operation in path_item.items():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                responses = operation["responses"]
                if (path, method) in tagged:
                    for status, answer in responses.items():
                        if str(status).startswith("2") and str(status) != "204":
                            answer.setdefault("headers", {})["ETag"] = dict(_ETAG)
                route_codes = map(str, extra.get((path, method), ()))
                # A body that cannot be parsed at all (a broken multipart form) is a 400.
                body_codes = ["400"] if "requestBody" in operation else []
                for status in [*responses, *map(str, statuses), *route_codes, *body_codes]:
                    code = int(status) if str(status).isdigit() else 0
                    if code >= 400:
                        responses[str(status)] = _envelope_response(code) | {
                            "description": responses.get(str(status), {}).get(
                                "description", _DESCRIPTIONS.get(code, "Error")
                            )
                        }
        # FastAPI's 422 schemas are no longer used, unless a host model has the same
        # name (its own `ValidationError`, say): drop them only when nothing refers to them.
        for name in ("HTTPValidationError", "ValidationError"):
            if name in defs and f'"#/components/schemas/{name}"' not in json.dumps(schema):
                del defs[name]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override hook
