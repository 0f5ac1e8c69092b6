"""Reject request bodies holding text that cannot be encoded (lone UTF-16 surrogates)."""

from __future__ import annotations

import json
import re

from fastapi.exceptions import RequestValidationError
from starlette.requests import Request

__all__ = ["reject_unencodable_body"]

# A JSON `\uD800`-`\uDFFF` escape: the only way a surrogate enters a UTF-8 body.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _first_unencodable(value: object, loc: tuple[str | int, ...]) -> tuple[str | int, ...] | None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return loc
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if _first_unencodable(key, loc) is not None:
                return (*loc, "<key>")
            found = _first_unencodable(item, (*loc, key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _first_unencodable(item, (*loc, index))
            if found is not None:
                return found
    return None


async def reject_unencodable_body(request: Request) -> None:
    r"""App-wide dependency: a JSON body with a lone surrogate is a 422, before any handler runs.

    `json` accepts `"\ud800"` and hands Python a string that cannot be written
    to a database or serialized back; failing there would be a 500, or worse, a
    response error after the write was committed. The raw body is scanned
    first, so ordinary requests pay one regex search over bytes already read.
    """
    if request.method in {"GET", "HEAD", "OPTIONS", "DELETE"}:
        return
    body = await request.body()
    if not body or _SURROGATE_ESCAPE.search(body) is None:
        return
    try:
        parsed = json.loads(body)
    except ValueError:
        return  # malformed JSON is reported by FastAPI's own body parsing
    loc = _first_unencodable(parsed, ("body",))
    if loc is not None:
        raise RequestValidationError(
            [
                {
                    "loc": loc,
                    "type": "string_unicode",
                    "msg": "Text must be valid Unicode (no lone surrogates)",
                }
            ]
        )
