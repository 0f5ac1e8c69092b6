"""The running request's deadline, which a database commit lifts: a COMMIT is never cut short."""

from __future__ import annotations

import asyncio
import contextlib
from contextvars import ContextVar

__all__ = ["lift_deadline", "request_deadline_var"]

#: The `asyncio.timeout` bounding the request being served (None: no budget,
#: or outside a request).
request_deadline_var: ContextVar[asyncio.Timeout | None] = ContextVar(
    "bastion_request_deadline", default=None
)


def lift_deadline() -> None:
    """Lift the running request's deadline; call it right before a COMMIT.

    A cancellation landing inside COMMIT cannot tell whether the write was
    kept, so the client could be told 504 about a write that exists. Once a
    commit starts, the request therefore runs to its end without a deadline
    and its response is the real one. A deadline that passed before the
    commit still wins: the request is cancelled here, before anything is
    written.

    Raises:
        asyncio.CancelledError: The deadline had already passed (its
            cancellation was swallowed by the code that ran before).
    """
    deadline = request_deadline_var.get()
    if deadline is None:
        return
    if deadline.expired():
        raise asyncio.CancelledError
    with contextlib.suppress(RuntimeError):  # a task outliving its request: nothing to lift
        deadline.reschedule(None)
