"""The error code a request's envelope carried, noted for the layers that report on requests."""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["RequestOutcome", "outcome_var", "record_error_code"]


class RequestOutcome:
    """What a reporting layer (metrics) learns of a request it cannot see into.

    The reporting layer puts a fresh one in `outcome_var` before calling the
    app; the envelope renderer notes its code on it. A mutable object rather
    than a context variable of its own: an error rendered in a child task
    (a context copy) still reaches the layer that set it.

    Attributes:
        error_code: The code of the last error envelope rendered, or None.
    """

    # A class default rather than `__init__` (no error rendered yet): one
    # outcome is made per request.
    error_code: str | None = None


#: The outcome of the request being served, when a reporting layer asked for it.
outcome_var: ContextVar[RequestOutcome | None] = ContextVar("bastion_outcome", default=None)


def record_error_code(code: str) -> None:
    """Note that the current request is answered with the error envelope `code`."""
    outcome = outcome_var.get()
    if outcome is not None:
        outcome.error_code = code
