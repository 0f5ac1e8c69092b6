"""Per-request context carried in contextvars (the request id)."""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["get_request_id", "request_id_var"]

#: The id of the request being served, or `None` outside a request.
request_id_var: ContextVar[str | None] = ContextVar("bastion_request_id", default=None)


def get_request_id() -> str | None:
    """Return the current request's id, or `None` outside a request."""
    return request_id_var.get()
