"""The `Idempotency-Key` header read and checked, and the hashes that name a keyed request."""

from __future__ import annotations

import hashlib
import re

from starlette.datastructures import Headers

from bastion.idempotency._errors import InvalidIdempotencyKeyError

__all__ = ["HEADER", "MAX_KEY_LENGTH", "fingerprint", "read_key", "scope_hash"]

#: The request header naming a key (IETF draft "The Idempotency-Key HTTP Header Field").
HEADER = "idempotency-key"
#: The longest key accepted, in characters.
MAX_KEY_LENGTH = 255

# Printable ASCII, spaces only between other characters: what a header value may
# carry without being read differently by another proxy or server (no controls,
# no obs-text). The quoted form may hold spaces anywhere.
_PLAIN = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")
# The draft's form: a Structured Field String, quoted, with `\"` and `\\` escapes.
_QUOTED = re.compile(r'"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"')
_ESCAPE = re.compile(r"\\([\"\\])")


def read_key(headers: Headers) -> str | None:
    """The request's idempotency key, or None when it sends none.

    The draft's quoted form (`Idempotency-Key: "8e03978e"`) and a bare token
    (`Idempotency-Key: 8e03978e`) name the same key.

    Raises:
        InvalidIdempotencyKeyError: The header is repeated, empty, over
            `MAX_KEY_LENGTH` characters, or not a valid header value.
    """
    values = headers.getlist(HEADER)
    if not values:
        return None
    if len(values) > 1:
        raise InvalidIdempotencyKeyError("Send one Idempotency-Key header.")
    value = values[0].strip(" \t")
    quoted = _QUOTED.fullmatch(value)
    if quoted is not None:
        key: str | None = _ESCAPE.sub(r"\1", quoted.group(1))
    elif _PLAIN.fullmatch(value) is not None and not value.startswith('"'):
        key = value
    else:
        key = None
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidIdempotencyKeyError(
            f"The Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters.",
            details={"max_length": MAX_KEY_LENGTH},
        )
    return key


def _digest(*parts: bytes) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        # Length-prefixed, so no two different part lists hash alike.
        hasher.update(len(part).to_bytes(8, "big"))
        hasher.update(part)
    return hasher.hexdigest()


def scope_hash(principal: str, method: str, route: str, key: str) -> str:
    """What a key is unique within: the principal, the method and the route template."""
    return _digest(principal.encode(), method.encode(), route.encode(), key.encode())


def fingerprint(path: str, query: bytes, body: bytes) -> str:
    """SHA-256 of what must match for a replay: the concrete path, the query and the body."""
    return _digest(path.encode(), query, body)
