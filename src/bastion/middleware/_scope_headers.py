"""A request's headers by name, as the app reads them: the first of repeated ones."""

from __future__ import annotations

from starlette.types import Scope

__all__ = ["first_headers"]


def first_headers(scope: Scope) -> dict[bytes, bytes]:
    """The request's headers by lower-case name, the first value of a repeated one.

    Starlette's `Headers.get` (and so FastAPI, `request.url`, `request.headers`)
    reads the first: a layer that judged the last (`dict(scope["headers"])`)
    would check one value while the app used another, two `Content-Type`s or two
    `Host`s apart. Reversed, so the first occurrence is written last and stays.
    """
    return dict(reversed(scope["headers"]))
