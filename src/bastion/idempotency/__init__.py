"""Idempotency keys: unsafe requests with an `Idempotency-Key` header run once.

Put `IdempotentRoute` on a router (`APIRouter(route_class=IdempotentRoute)`) or
on one route (`router.add_api_route(..., route_class_override=IdempotentRoute)`),
create the `idempotency_records` table (`IdempotencyRecord`), and prune expired
records now and then with `prune_idempotency_records`.
"""

from bastion.idempotency._errors import (
    IdempotencyKeyInUseError,
    IdempotencyKeyReusedError,
    InvalidIdempotencyKeyError,
)
from bastion.idempotency._key import MAX_KEY_LENGTH
from bastion.idempotency._locks import InFlightLocks, MemoryInFlightLocks, RedisInFlightLocks
from bastion.idempotency._models import IdempotencyRecord
from bastion.idempotency._route import REPLAYED_HEADER, IdempotentRoute
from bastion.idempotency._store import IdempotencyStore, StoredResponse, prune_idempotency_records

__all__ = [
    "MAX_KEY_LENGTH",
    "REPLAYED_HEADER",
    "IdempotencyKeyInUseError",
    "IdempotencyKeyReusedError",
    "IdempotencyRecord",
    "IdempotencyStore",
    "IdempotentRoute",
    "InFlightLocks",
    "InvalidIdempotencyKeyError",
    "MemoryInFlightLocks",
    "RedisInFlightLocks",
    "StoredResponse",
    "prune_idempotency_records",
]
