"""`JobContext`: what a handler gets beside its payload."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bastion.db import UnitOfWork

if TYPE_CHECKING:
    from bastion._resources import Resources

__all__ = ["JobContext"]


@dataclass(frozen=True, slots=True)
class JobContext:
    """A handler's own unit of work and the facts of this delivery.

    Attributes:
        uow: The handler's unit of work. It commits together with the row's
            `delivered` mark, so database work of a handler happens once.
        dedupe_key: The same for every delivery of this row: key side effects
            outside the database (an e-mail, a payment) by it.
        attempt: 1 on the first run, 2 on the first retry, ...
        resources: The app's resources (settings, Redis, ...).
    """

    uow: UnitOfWork
    dedupe_key: uuid.UUID
    attempt: int
    resources: Resources
