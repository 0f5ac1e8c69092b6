"""Time-ordered UUIDv7 identifiers generated in Python (RFC 9562)."""

from __future__ import annotations

import os
import time
import uuid

__all__ = ["uuid7", "uuid7_time"]

_VERSION_7 = 0x7 << 76
_VARIANT_RFC = 0b10 << 62
_RAND_A_MASK = (1 << 12) - 1
_RAND_B_MASK = (1 << 62) - 1


def uuid7(*, timestamp_ms: int | None = None) -> uuid.UUID:
    """Return a new UUIDv7: 48 bits of Unix milliseconds, then 74 random bits.

    Ids sort by creation time (to the millisecond), so primary-key indexes stay
    append-mostly and keyset pagination on `id` follows insertion order.

    Args:
        timestamp_ms: The Unix time in milliseconds to embed; now when omitted.

    Returns:
        A version 7, RFC 9562 variant UUID.
    """
    ms = time.time_ns() // 1_000_000 if timestamp_ms is None else timestamp_ms
    if not 0 <= ms < 1 << 48:
        raise ValueError("timestamp_ms must fit in 48 bits")
    rand = int.from_bytes(os.urandom(10))
    rand_a = (rand >> 62) & _RAND_A_MASK
    rand_b = rand & _RAND_B_MASK
    return uuid.UUID(int=(ms << 80) | _VERSION_7 | (rand_a << 64) | _VARIANT_RFC | rand_b)


def uuid7_time(value: uuid.UUID) -> int:
    """Return the Unix time in milliseconds embedded in a UUIDv7.

    Raises:
        ValueError: `value` is not a version 7 UUID.
    """
    if value.version != 7:
        raise ValueError("not a version 7 UUID")
    return value.int >> 80
