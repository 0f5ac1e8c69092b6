"""The errors an idempotent route answers with, each with its stable code.

```
BadRequestError (400)
└── InvalidIdempotencyKeyError (400 INVALID_IDEMPOTENCY_KEY)
ConflictError (409)
└── IdempotencyKeyInUseError (409 IDEMPOTENCY_KEY_IN_USE, Retry-After)
ValidationFailedError (422)
└── IdempotencyKeyReusedError (422 IDEMPOTENCY_KEY_REUSED)
```
"""

from __future__ import annotations

from bastion.errors import BadRequestError, ConflictError, ValidationFailedError

__all__ = [
    "IdempotencyKeyInUseError",
    "IdempotencyKeyReusedError",
    "InvalidIdempotencyKeyError",
]

#: Seconds a client is told to wait before retrying a request whose first is in flight.
IN_USE_RETRY_AFTER = 1


class InvalidIdempotencyKeyError(BadRequestError):
    """The `Idempotency-Key` header is empty, too long, repeated or not a valid header value."""

    code = "INVALID_IDEMPOTENCY_KEY"
    default_message = "The Idempotency-Key header is not a valid key."


class IdempotencyKeyInUseError(ConflictError):
    """A request with the same key is still being processed; retry after `Retry-After`."""

    code = "IDEMPOTENCY_KEY_IN_USE"
    default_message = "A request with this Idempotency-Key is still being processed."

    def __init__(self) -> None:
        """Create the error with its `Retry-After` header."""
        super().__init__(headers={"Retry-After": str(IN_USE_RETRY_AFTER)})


class IdempotencyKeyReusedError(ValidationFailedError):
    """The key was first used for another request (another body, path or query)."""

    code = "IDEMPOTENCY_KEY_REUSED"
    default_message = "This Idempotency-Key was used for a different request."
