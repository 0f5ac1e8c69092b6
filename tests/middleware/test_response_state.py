"""The response's progress is tracked once, by the outermost layer, and read by inner ones."""

from __future__ import annotations

from starlette.types import Message

from bastion.middleware.response_state import ResponseState, tracked_send


async def _send(message: Message) -> None:
    return None


async def test_an_installed_state_is_shared_and_send_is_not_wrapped_again() -> None:
    scope: dict[str, object] = {"type": "http"}
    outer = ResponseState()
    outer.install(scope)
    state, send = tracked_send(scope, _send)
    assert state is outer
    assert send is _send


async def test_without_an_outer_layer_send_is_wrapped_and_tracks_the_start() -> None:
    state, send = tracked_send({"type": "http"}, _send)
    assert send is not _send
    assert (state.started, state.status) == (False, 500)
    await send({"type": "http.response.start", "status": 204, "headers": []})
    assert (state.started, state.status) == (True, 204)
    await send({"type": "http.response.body", "body": b""})
    assert state.status == 204
