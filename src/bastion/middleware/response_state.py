"""A request's response, seen once by the outermost layer: its start, and the headers to add."""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import Message, Scope, Send

__all__ = ["RESPONSE_STATE_KEY", "HeaderHook", "ResponseState", "header_send", "tracked_send"]

#: Adds a layer's headers to a response's raw header list (which it may extend
#: in place) and returns the list.
HeaderHook = Callable[[list[tuple[bytes, bytes]]], list[tuple[bytes, bytes]]]

#: Where the outermost layer keeps the `ResponseState` in the ASGI scope.
RESPONSE_STATE_KEY = "bastion.response"


class ResponseState:
    """The response's progress, kept in the ASGI scope by the outermost layer.

    A layer that must know whether the response started (to render an error
    only if it has not) reads this, and a layer that only adds response
    headers registers a hook here (`header_send`), instead of wrapping `send`
    once more: every wrapper costs an extra call per message on every request.
    The outermost layer applies the hooks, innermost first, exactly where the
    layers' own wrappers would have: each sees the headers of the layers
    inside it. A layer that answers in place of the app after calling it
    drops the hooks of the layers inside it (`bypass_inner`), as their
    wrappers would have been bypassed.

    Attributes:
        started: `http.response.start` has been sent.
        status: The status sent (500 until then).
        header_hooks: The registered hooks, outermost layer first.
    """

    __slots__ = ("header_hooks", "started", "status")

    def __init__(self) -> None:
        """Nothing sent yet."""
        self.started = False
        self.status = 500
        self.header_hooks: list[HeaderHook] = []

    def install(self, scope: Scope) -> None:
        """Put this state in `scope` for the inner layers."""
        scope[RESPONSE_STATE_KEY] = self

    def observe(self, message: Message) -> None:
        """Record `message` on its way out."""
        if message["type"] == "http.response.start":
            self.started = True
            self.status = message["status"]

    def response_headers(self, message: Message) -> list[tuple[bytes, bytes]]:
        """The headers of the `http.response.start` `message`, with every hook applied."""
        return self.apply_hooks(list(message.get("headers", ())))

    def apply_hooks(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        """`headers` (a list the hooks may extend) with every hook applied, innermost first."""
        for hook in reversed(self.header_hooks):
            headers = hook(headers)
        return headers

    def bypass_inner(self, mark: int) -> None:
        """Drop the hooks registered after the first `mark` (the inner layers')."""
        del self.header_hooks[mark:]


def tracked_send(scope: Scope, send: Send) -> tuple[ResponseState, Send]:
    """The request's `ResponseState` and the `send` to use.

    When an outer layer already tracks the response, `send` is returned as it
    is; otherwise (the layer is used on its own) it is wrapped to track it.
    """
    state = scope.get(RESPONSE_STATE_KEY)
    if isinstance(state, ResponseState):
        return state, send
    state = ResponseState()

    async def tracking(message: Message) -> None:
        state.observe(message)
        await send(message)

    return state, tracking


def header_send(scope: Scope, send: Send, hook: HeaderHook) -> Send:
    """The `send` through which a layer's `hook` adds its headers to the response.

    When an outer layer tracks the response, the hook is registered with it
    and `send` is returned as it is; otherwise (the layer is used on its own)
    `send` is wrapped to apply the hook.
    """
    state = scope.get(RESPONSE_STATE_KEY)
    if isinstance(state, ResponseState):
        state.header_hooks.append(hook)
        return send

    async def with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = hook(list(message.get("headers", ())))
        await send(message)

    return with_headers
