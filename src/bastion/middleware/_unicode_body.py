"""Reject JSON bodies that are not valid UTF-8 or hold lone surrogates, before any handler."""

from __future__ import annotations

import codecs
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.errors import UnencodableBodyError
from bastion.middleware._json_text import find_lone_surrogate, may_hold_surrogate
from bastion.middleware._scope_headers import first_headers

__all__ = ["UnicodeBodyMiddleware"]

_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "TRACE"})
# How many bytes before a chunk may belong to an escape the chunk completes
# (`may_hold_surrogate` looks for 4: a backslash, `u`, and two more).
_ESCAPE_TAIL = 3


def _is_json(headers: Mapping[bytes, bytes]) -> bool:
    value = headers.get(b"content-type")
    if value is None:
        return True  # FastAPI parses a body without a content type as JSON
    media_type = value.split(b";", 1)[0].strip().lower()
    return media_type == b"application/json" or media_type.endswith(b"+json")


class UnicodeBodyMiddleware:
    r"""Turn undecodable JSON text into a 422 `VALIDATION_ERROR`, never a 400 or a 500.

    JSON is UTF-8 (RFC 8259); FastAPI answers other bytes with a 400, and reads
    UTF-16 and UTF-32 too (a raw NUL byte, here a 422, tells them apart). And `json`
    accepts `"\\ud800"`, whose string fails later, where it is written to a
    database or serialized: a 500, or an error after a committed write. This
    layer watches a JSON body as the app reads it, whatever its chunks: every
    byte goes through one incremental UTF-8 decoder (a character may be split
    across chunks), and one regex search per chunk looks for an escape in the
    surrogate range, even one split across chunks; only a body holding one is
    checked exactly. A failure raises `UnencodableBodyError` out of `receive`,
    before the handler runs.
    """

    def __init__(self, app: ASGIApp) -> None:
        """Wrap `app`."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if (
            scope["type"] == "http"
            and scope["method"] not in _BODYLESS
            and _is_json(first_headers(scope))
        ):
            receive = _checked(receive)
        await self.app(scope, receive, send)


def _checked(receive: Receive) -> Receive:
    """`receive`, raising `UnencodableBodyError` for undecodable JSON text."""
    chunks: list[bytes] = []
    suspicious = False
    tail = b""  # the last bytes seen, where an escape split across chunks starts
    decoder = codecs.getincrementaldecoder("utf-8")()

    async def checked_receive() -> Message:
        nonlocal suspicious, tail
        message = await receive()
        if message["type"] != "http.request":
            return message
        body: bytes = message.get("body", b"")
        more_body: bool = message.get("more_body", False)
        try:
            # Even an ASCII chunk: after a chunk ending inside a character,
            # only the decoder knows that ASCII cannot continue it.
            decoder.decode(body, final=not more_body)
        except UnicodeDecodeError:
            raise UnencodableBodyError(
                ["body"], "json_invalid", "The body is not valid UTF-8."
            ) from None
        # JSON text never holds a raw NUL, and UTF-16 and UTF-32 JSON always do (its
        # ASCII characters' other bytes): valid UTF-8 byte for byte, which `json.loads`
        # would decode as what it is, escapes this layer cannot see included.
        if b"\x00" in body:
            raise UnencodableBodyError(
                ["body"], "json_invalid", "The body is not UTF-8 JSON text (it holds a NUL byte)."
            )
        if body:
            if not suspicious:
                window = tail + body
                suspicious = may_hold_surrogate(window)
                tail = window[-_ESCAPE_TAIL:]
            chunks.append(body)
        if suspicious and not more_body:
            loc = find_lone_surrogate(b"".join(chunks))
            if loc is not None:
                raise UnencodableBodyError(
                    loc, "string_unicode", "Text must be valid Unicode (no lone surrogates)."
                )
        return message

    return checked_receive
