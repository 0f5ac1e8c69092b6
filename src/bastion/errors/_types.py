"""The error types: `BastionError` and its subclasses, each with a stable `code`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from starlette.exceptions import HTTPException

__all__ = [
    "BadRequestError",
    "BastionError",
    "ConflictError",
    "ErrorDetails",
    "GatewayTimeoutError",
    "MethodNotAllowedError",
    "NotFoundError",
    "NotReadyError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "RateLimitedError",
    "ServiceUnavailableError",
    "UnauthenticatedError",
    "UnencodableBodyError",
    "ValidationFailedError",
]

#: What an error's `details` may hold: JSON-ready data.
ErrorDetails = Mapping[str, object] | list[object] | None


class BastionError(Exception):
    """The root of every error rendered into the envelope.

    Attributes:
        code: Stable UPPER_SNAKE identifier clients switch on.
        status_code: HTTP status of the response.
        message: Human-readable, safe to show to the client.
        details: Extra structured data for the client, or `None`.
        headers: Extra response headers (for example `Retry-After`).
    """

    code: str = "INTERNAL_ERROR"
    status_code: ClassVar[int] = 500
    default_message: ClassVar[str] = "An internal error occurred."

    def __init__(
        self,
        message: str | None = None,
        *,
        details: ErrorDetails = None,
        headers: Mapping[str, str] | None = None,
        code: str | None = None,
    ) -> None:
        """Create the error.

        Args:
            message: Client-facing message; the class default when omitted.
            details: Structured, client-safe details.
            headers: Extra response headers.
            code: Overrides the class `code` for this one instance.
        """
        self.message = message if message is not None else self.default_message
        self.details = details
        self.headers: dict[str, str] = dict(headers or {})
        if code is not None:
            self.code = code
        super().__init__(self.message)

    def __repr__(self) -> str:
        """Show the class, code and message (never details, which may be large)."""
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class BadRequestError(BastionError):
    """The request is malformed in a way validation does not describe."""

    code = "BAD_REQUEST"
    status_code = 400
    default_message = "The request is malformed."


class UnauthenticatedError(BastionError):
    """No valid credentials were presented."""

    code = "NOT_AUTHENTICATED"
    status_code = 401
    default_message = "Authentication is required."


class PermissionDeniedError(BastionError):
    """The caller is authenticated but not allowed to do this."""

    code = "FORBIDDEN"
    status_code = 403
    default_message = "You do not have permission to do this."


class NotFoundError(BastionError):
    """The resource does not exist (or the caller may not know it does)."""

    code = "NOT_FOUND"
    status_code = 404
    default_message = "The resource was not found."


class MethodNotAllowedError(BastionError):
    """The route exists but not for this HTTP method."""

    code = "METHOD_NOT_ALLOWED"
    status_code = 405
    default_message = "The method is not allowed for this resource."


class ConflictError(BastionError):
    """The request conflicts with the current state (duplicate, stale version)."""

    code = "CONFLICT"
    status_code = 409
    default_message = "The request conflicts with the current state of the resource."


class PreconditionFailedError(BastionError):
    """A conditional request's precondition (`If-Match`) does not hold; nothing was changed."""

    code = "PRECONDITION_FAILED"
    status_code = 412
    default_message = "The resource has changed since it was read; reload it and retry."


class PayloadTooLargeError(BastionError):
    """The request body is larger than allowed."""

    code = "PAYLOAD_TOO_LARGE"
    status_code = 413
    default_message = "The request body is too large."


class ValidationFailedError(BastionError):
    """The input is well-formed but invalid."""

    code = "VALIDATION_ERROR"
    status_code = 422
    default_message = "The request is invalid."


class RateLimitedError(BastionError):
    """Too many requests; `Retry-After` says when to come back."""

    code = "RATE_LIMITED"
    status_code = 429
    default_message = "Too many requests; slow down."


class ServiceUnavailableError(BastionError):
    """A dependency the request needs is down."""

    code = "SERVICE_UNAVAILABLE"
    status_code = 503
    default_message = "The service is temporarily unavailable."


class NotReadyError(ServiceUnavailableError):
    """A readiness check failed or timed out."""

    code = "NOT_READY"
    default_message = "The service is not ready."


class GatewayTimeoutError(BastionError):
    """The request took longer than its time budget."""

    code = "REQUEST_TIMEOUT"
    status_code = 504
    default_message = "The request took too long to complete."


class UnencodableBodyError(HTTPException):
    """A JSON body is not valid UTF-8 or holds a lone surrogate: 422 `VALIDATION_ERROR`.

    An `HTTPException`, not a `BastionError`, so that FastAPI's body reading lets
    it through unchanged when it is raised from the ASGI `receive` channel.

    Attributes:
        loc: Where in the body the text is (`["body", "field", ...]`).
        error_type: The validation error type reported in `details`.
    """

    def __init__(self, loc: list[str | int], error_type: str, message: str) -> None:
        """Create the error for the part of the body at `loc`."""
        super().__init__(status_code=422, detail=message)
        self.loc = loc
        self.error_type = error_type
