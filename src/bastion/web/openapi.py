"""OpenAPI: the error envelope as a component and documented error responses."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["ErrorBody", "ErrorEnvelope", "error_responses", "install_openapi"]

_DESCRIPTIONS: dict[int, str] = {
    400: "Malformed request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
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


def _envelope_response(status: int) -> dict[str, object]:
    return {
        "description": _DESCRIPTIONS.get(status, "Error"),
        "content": {"application/json": {"schema": dict(_ENVELOPE_REF)}},
    }


def install_openapi(app: FastAPI, *, always: Iterable[int] = (500,)) -> None:
    """Make the OpenAPI document describe the envelope on every operation.

    FastAPI documents 422 with its own `HTTPValidationError` schema; this swaps in
    the envelope, adds the statuses every route can answer with (`always`, for
    example 500 and the edge middleware's 413/429/504), and registers the
    `ErrorEnvelope` component.
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
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                responses = operation["responses"]
                # A body that cannot be parsed at all (a broken multipart form) is a 400.
                extra = [400] if "requestBody" in operation else []
                for status in [*responses, *map(str, [*statuses, *extra])]:
                    code = int(status) if str(status).isdigit() else 0
                    if code >= 400:
                        responses[str(status)] = _envelope_response(code) | {
                            "description": responses.get(str(status), {}).get(
                                "description", _DESCRIPTIONS.get(code, "Error")
                            )
                        }
        defs.pop("HTTPValidationError", None)
        defs.pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override hook
