"""Pagination: signed keyset cursors (the default) and offset pages with an optional total."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from typing import Generic, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field

from bastion.db._errors import InvalidCursorError
from bastion.db._filters import Filter

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_CURSOR_LENGTH",
    "MAX_PAGE_SIZE",
    "CursorPayload",
    "CursorSigner",
    "KeysetPage",
    "KeysetParams",
    "ListParams",
    "OffsetPage",
    "OffsetParams",
]

ItemT = TypeVar("ItemT")

#: Page size when the client gives none.
DEFAULT_PAGE_SIZE = 20
#: The largest page a client may ask for.
MAX_PAGE_SIZE = 100
#: The longest cursor a list accepts (characters). A cursor carries the last row's
#: sort value: a text sort key of up to about 480 characters of any kind fits.
MAX_CURSOR_LENGTH = 4096
_MAC_BYTES = 16


@dataclass(frozen=True, slots=True)
class CursorPayload:
    """What a keyset cursor carries: the list, filters and sort it was made for, and the last key.

    Attributes:
        scope: The list the cursor belongs to (the repository's table).
        sort: The sort it was made for (for example `-created_at`).
        key: The last row's sort value, JSON-ready.
        id: The last row's primary key, as a string (the tiebreak).
        filters: A digest of the list's filters (owner scope included), so a
            cursor only continues the list it came from.
    """

    scope: str
    sort: str
    key: object
    id: str
    filters: str = ""


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorSigner:
    """Encodes cursors as `payload.mac` with an HMAC-SHA256 over the payload.

    The key is derived from the app's secret key for this one purpose, so a
    cursor can never be replayed as another kind of token.
    """

    __slots__ = ("_key",)

    def __init__(self, secret_key: str | bytes) -> None:
        """Derive the cursor key from `secret_key`."""
        secret = secret_key.encode() if isinstance(secret_key, str) else secret_key
        self._key = hmac.new(secret, b"bastion.db.cursor.v1", hashlib.sha256).digest()

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_MAC_BYTES]

    def encode(self, payload: CursorPayload) -> str:
        """Return the opaque, signed cursor for `payload`."""
        body = orjson.dumps([payload.scope, payload.sort, payload.key, payload.id, payload.filters])
        return f"{_b64encode(body)}.{_b64encode(self._mac(body))}"

    def decode(self, cursor: str) -> CursorPayload:
        """Verify and decode a cursor.

        Raises:
            InvalidCursorError: It is malformed, too long, or its signature does not match.
        """
        if len(cursor) > MAX_CURSOR_LENGTH or cursor.count(".") != 1:
            raise InvalidCursorError()
        body_text, mac_text = cursor.split(".")
        try:
            body, mac = _b64decode(body_text), _b64decode(mac_text)
        except (binascii.Error, ValueError) as exc:
            raise InvalidCursorError() from exc
        if not hmac.compare_digest(mac, self._mac(body)):
            raise InvalidCursorError()
        try:
            scope, sort, key, last_id, filters = orjson.loads(body)
        except (orjson.JSONDecodeError, TypeError, ValueError) as exc:
            raise InvalidCursorError() from exc
        if not all(isinstance(text, str) for text in (scope, sort, last_id, filters)):
            raise InvalidCursorError()
        return CursorPayload(scope=scope, sort=sort, key=key, id=last_id, filters=filters)


@dataclass(frozen=True, slots=True)
class KeysetParams:
    """A request for one keyset page.

    Attributes:
        signer: Signs the next cursor (and verified `after`).
        limit: Rows per page.
        after: The decoded cursor of the previous page, or `None` for the first page.
    """

    signer: CursorSigner
    limit: int = DEFAULT_PAGE_SIZE
    after: CursorPayload | None = None

    @classmethod
    def parse(
        cls, signer: CursorSigner, *, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None
    ) -> KeysetParams:
        """Build params from a client's `limit` and raw `cursor`.

        Raises:
            InvalidCursorError: The cursor does not verify.
        """
        after = signer.decode(cursor) if cursor else None
        return cls(signer=signer, limit=limit, after=after)


@dataclass(frozen=True, slots=True)
class OffsetParams:
    """A request for one offset page (admin UIs); `with_total` adds a separate COUNT."""

    limit: int = DEFAULT_PAGE_SIZE
    offset: int = 0
    with_total: bool = False


@dataclass(frozen=True, slots=True)
class ListParams:
    """One list request: its typed filters, its sort and its keyset page.

    `bastion.web.list_query` reads one from the query string; a service passes
    it on as `repo.page(params.page, *scope, *params.filters, sort=params.sort)`.

    Attributes:
        filters: The filters asked for, all of which must hold.
        sort: The sort asked for (`-field` descending), or `None` for the default.
        page: The page size and the decoded cursor.
    """

    filters: tuple[Filter, ...]
    sort: str | None
    page: KeysetParams


class KeysetPage(BaseModel, Generic[ItemT]):
    """One keyset page: `{"items", "next_cursor"}` (`null` on the last page)."""

    model_config = ConfigDict(frozen=True)

    items: list[ItemT]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; null on the last page."
    )


class OffsetPage(BaseModel, Generic[ItemT]):
    """One offset page, with the total row count when it was asked for."""

    model_config = ConfigDict(frozen=True)

    items: list[ItemT]
    limit: int
    offset: int
    total: int | None = Field(default=None, description="Matching rows; null unless asked for.")
