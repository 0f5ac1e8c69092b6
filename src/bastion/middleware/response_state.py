"""Whether a request's response has started: tracked once, read by the layers that need it."""

from __future__ import annotations

from starlette.types import Message, Scope, Send

__all__ = ["ResponseState", "tracked_send"]

_SCOPE_KEY = "bastion.response"


class ResponseState:
    """The response's progress, kept in the ASGI scope by the outermost layer.

    A layer that must know whether the response started (to render an error
    only if it has not) reads this instead of wrapping `send` once more: every
    wrapper costs an extra call per message on every request.

    Attributes:
        started: `http.response.start` has been sent.
        status: The status sent (500 until then).
    """

    __slots__ = ("started", "status")

    def __init__(self) -> None:
        """Nothing sent yet."""
        self.started = False
        self.status = 500

    def install(self, scope: Scope) -> None:
        """Put this state in `scope` for the inner layers."""
        scope[_SCOPE_KEY] = self

    def observe(self, message: Message) -> None:
        """Record `message` on its way out."""
        if message["type"] == "http.response.start":
            self.started = True
            self.status = message["status"]


def tracked_send(scope: Scope, send: Send) -> tuple[ResponseState, Send]:
    """The request's `ResponseState` and the `send` to use.

    When an outer layer already tracks the response, `send` is returned as it
    is; otherwise (the layer is used on its own) it is wrapped to track it.
    """
    state = scope.get(_SCOPE_KEY)
    if isinstance(state, ResponseState):
        return state, send
    state = ResponseState()

    async def tracking(message: Message) -> None:
        state.observe(message)
        await send(message)

    return state, tracking
