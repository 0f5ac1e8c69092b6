"""The errors bastion raises and the one function that renders them.

```
Exception
├── BastionError (500 INTERNAL_ERROR)
│   ├── BadRequestError (400 BAD_REQUEST)
│   ├── UnauthenticatedError (401 NOT_AUTHENTICATED)
│   ├── PermissionDeniedError (403 FORBIDDEN)
│   ├── NotFoundError (404 NOT_FOUND)
│   ├── MethodNotAllowedError (405 METHOD_NOT_ALLOWED)
│   ├── ConflictError (409 CONFLICT)
│   ├── PreconditionFailedError (412 PRECONDITION_FAILED)
│   ├── PayloadTooLargeError (413 PAYLOAD_TOO_LARGE)
│   ├── ValidationFailedError (422 VALIDATION_ERROR)
│   ├── RateLimitedError (429 RATE_LIMITED)
│   ├── ServiceUnavailableError (503 SERVICE_UNAVAILABLE)
│   │   └── NotReadyError (503 NOT_READY)
│   └── GatewayTimeoutError (504 REQUEST_TIMEOUT)
└── starlette.exceptions.HTTPException
    └── UnencodableBodyError (422 VALIDATION_ERROR)
```

Each capability subclasses these with its own codes (`bastion.db`,
`bastion.security`, `bastion.auth`, `bastion.idempotency`), and so may a host
app (`class EmailTakenError(ConflictError): code = "EMAIL_TAKEN"`). The message
and details of an error are sent to the client, so they must never hold
secrets, SQL or exception text.

Every error response, whether an exception handler or a middleware sends it,
is built by `render_error` (or `error_response` for a `BastionError`) into one
envelope: `{"error": {"code", "message", "details", "request_id"}}`. This
package sits below `bastion.middleware` and `bastion.web`, so both use it and
neither imports the other.
"""

from bastion.errors._render import JSONResponse, error_response, render_error
from bastion.errors._types import (
    BadRequestError,
    BastionError,
    ConflictError,
    ErrorDetails,
    GatewayTimeoutError,
    MethodNotAllowedError,
    NotFoundError,
    NotReadyError,
    PayloadTooLargeError,
    PermissionDeniedError,
    PreconditionFailedError,
    RateLimitedError,
    ServiceUnavailableError,
    UnauthenticatedError,
    UnencodableBodyError,
    ValidationFailedError,
)

__all__ = [
    "BadRequestError",
    "BastionError",
    "ConflictError",
    "ErrorDetails",
    "GatewayTimeoutError",
    "JSONResponse",
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
    "error_response",
    "render_error",
]
