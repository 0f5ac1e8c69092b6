"""Optimistic locking over HTTP: an `ETag` from a row's version, `If-Match` checked by the write.

```python
@router.patch("/{note_id}")
async def update_note(note_id: UUID, data: NoteUpdate, notes: Notes, match: IfMatch) -> NoteOut:
    return match.tag(await notes.update(note_id, data, match.expected_version))
```

The entity tag of a `VersionMixin` row is its version as a strong tag (`"3"`).
`If-Match` is evaluated as RFC 9110 section 13.1.1 says: `*` matches any
existing resource; otherwise the comparison is strong, so a weak tag (`W/"3"`)
never matches, and neither does a malformed header. The check happens inside
the conditional `UPDATE`/`DELETE` itself, so a stale request writes nothing and
is answered 412 `PRECONDITION_FAILED`. `If-None-Match` is not evaluated.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Protocol, TypeVar

from fastapi import Depends, Header, Request, Response

from bastion.db import StaleVersionError
from bastion.errors import PreconditionFailedError

__all__ = ["IfMatch", "Precondition", "Versioned", "etag", "if_match"]

# RFC 9110: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text;
# headers arrive decoded as latin-1, so obs-text is \x80-\xff here.
_ENTITY_TAG = re.compile(r'[ \t]*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"[ \t]*(?:,|\Z)')
_EMPTY_ITEM = re.compile(r"[ \t]*,")
# Methods that must not change state: for them the helper itself evaluates `If-Match`.
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# `VersionMixin.version` is a 32-bit INTEGER: a larger number names no row's version.
_MAX_VERSION = 2**31 - 1
_MAX_VERSION_DIGITS = len(str(_MAX_VERSION))


class Versioned(Protocol):
    """A DTO that carries its row's `version` (a `VersionMixin` column)."""

    @property
    def version(self) -> int:
        """The row's version."""
        ...


VersionedT = TypeVar("VersionedT", bound=Versioned)


def etag(version: int) -> str:
    """The strong entity tag of a row at `version` (`"3"`)."""
    return f'"{version}"'


def _strong_versions(value: str) -> frozenset[int]:
    """The versions a list of entity tags names; weak, foreign or malformed tags name none.

    A malformed header can match no current tag, so it is treated as naming none.
    """
    versions: set[int] = set()
    position = 0
    while position < len(value):
        empty = _EMPTY_ITEM.match(value, position)
        if empty is not None:  # the list syntax allows empty elements
            position = empty.end()
            continue
        found = _ENTITY_TAG.match(value, position)
        if found is None:
            return frozenset()
        weak, opaque = found.groups()
        digits = opaque.isascii() and opaque.isdigit() and len(opaque) <= _MAX_VERSION_DIGITS
        # Strong comparison is of characters: `"01"` is not the tag `"1"` (`etag`) gives.
        if weak is None and digits and int(opaque) <= _MAX_VERSION and opaque == str(int(opaque)):
            versions.add(int(opaque))
        position = found.end()
    return frozenset(versions)


@dataclass(frozen=True, slots=True)
class Precondition:
    """A request's `If-Match`, and the response its `ETag` goes on.

    Attributes:
        header: The `If-Match` field value (several fields joined), or `None`.
        method: The request method.
        response: The response whose headers `tag` sets.
    """

    header: str | None
    method: str
    response: Response

    @property
    def expected_version(self) -> frozenset[int] | None:
        """The versions the client will accept, for a write's `expected_version=`.

        `None` (write unconditionally) without `If-Match` or with `*`; otherwise
        the versions its strong tags name (none, for a weak or malformed tag:
        then every write is refused as stale).
        """
        if self.header is None or self.header.strip() == "*":
            return None
        return _strong_versions(self.header)

    def matches(self, version: int) -> bool:
        """Whether a resource at `version` meets the precondition."""
        expected = self.expected_version
        return expected is None or version in expected

    def tag(self, item: VersionedT) -> VersionedT:
        """Set `ETag` from `item.version` and return `item`.

        On a read (GET, HEAD) it also evaluates `If-Match` against the item: a
        mismatch is 412. Writes evaluate it themselves, atomically, through
        `expected_version=`.

        Raises:
            PreconditionFailedError: A read whose `If-Match` does not match.
        """
        if self.method in _SAFE_METHODS and not self.matches(item.version):
            raise PreconditionFailedError()
        self.response.headers["ETag"] = etag(item.version)
        return item


async def if_match(
    request: Request,
    response: Response,
    header_fields: Annotated[
        list[str] | None,
        Header(
            alias="If-Match",
            description="Change only the version read: its `ETag` (a stale one is 412).",
        ),
    ] = None,
) -> AsyncIterator[Precondition]:
    """Yield the request's `Precondition`; a stale versioned write becomes 412.

    Only when the client sent `If-Match`: without it, a `StaleVersionError`
    (another writer won a race the service checked itself) stays a 409.

    Raises:
        PreconditionFailedError: The endpoint raised `StaleVersionError` and the
            request carries `If-Match`.
    """
    header = ", ".join(header_fields) if header_fields else None
    try:
        yield Precondition(header=header, method=request.method, response=response)
    except StaleVersionError as exc:
        if header is None:
            raise
        raise PreconditionFailedError() from exc


IfMatch = Annotated[Precondition, Depends(if_match, scope="function")]
"""The request's `If-Match` precondition: `Annotated[Precondition, Depends(if_match, scope="function")]`.

`tag(item)` sets the response's `ETag` from the item's version; a stale `If-Match`
on a write is a 412 `PRECONDITION_FAILED`.
"""
