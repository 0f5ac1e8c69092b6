"""Reject JSON bodies holding lone surrogates before any handler sees them."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.web.encoding import UnencodableBodyError, find_lone_surrogate, may_hold_surrogate

__all__ = ["UnicodeBodyMiddleware"]

_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "TRACE"})
_ESCAPE_LEN = 6  # len(b"\\ud800"): how much of a chunk's tail may start a split escape


class UnicodeBodyMiddleware:
    r"""Turn a JSON body with a lone surrogate escape into a 422, never a 500.

    `json` accepts `"\\ud800"`; the resulting string fails later, where it is
    written to a database or serialized, which would be a 500 or an error after
    a committed write. This layer watches the body as the app reads it: each
    chunk costs one regex search over bytes already in memory; only a body that
    holds an escape in the surrogate range is checked exactly, and a lone one
    raises `UnencodableBodyError` out of `receive`, before the handler runs.
    """

    def __init__(self, app: ASGIApp) -> None:
        """Wrap `app`."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http" or scope["method"] in _BODYLESS:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        suspicious = False

        async def checked_receive() -> Message:
            nonlocal suspicious
            message = await receive()
            if message["type"] != "http.request":
                return message
            body: bytes = message.get("body", b"")
            if body:
                if not suspicious:
                    tail = chunks[-1][-_ESCAPE_LEN:] if chunks else b""
                    suspicious = may_hold_surrogate(tail + body if tail else body)
                chunks.append(body)
            if suspicious and not message.get("more_body", False):
                loc = find_lone_surrogate(b"".join(chunks))
                if loc is not None:
                    raise UnencodableBodyError(loc)
            return message

        await self.app(scope, checked_receive, send)
