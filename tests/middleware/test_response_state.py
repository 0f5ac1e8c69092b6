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


async def test_header_hooks_run_innermost_first_and_inner_ones_can_be_bypassed() -> None:
    from bastion.middleware.response_state import header_send

    scope: dict[str, object] = {"type": "http"}
    state = ResponseState()
    state.install(scope)
    for name in (b"outer", b"middle", b"inner"):
        assert header_send(scope, _send, lambda h, n=name: [*h, (n, b"1")]) is _send
    start = {"type": "http.response.start", "status": 200, "headers": [(b"app", b"1")]}
    assert [n for n, _ in state.response_headers(start)] == [b"app", b"inner", b"middle", b"outer"]
    state.bypass_inner(1)  # an outer layer answers instead of the two inner ones
    assert [n for n, _ in state.response_headers(start)] == [b"app", b"outer"]


async def test_without_an_outer_layer_a_header_hook_wraps_send() -> None:
    from bastion.middleware.response_state import header_send

    sent: list[Message] = []

    async def collect(message: Message) -> None:
        sent.append(message)

    send = header_send({"type": "http"}, collect, lambda h: [*h, (b"x-added", b"1")])
    await send({"type": "http.response.start", "status": 200})
    await send({"type": "http.response.body", "body": b""})
    assert sent[0]["headers"] == [(b"x-added", b"1")]
    assert "headers" not in sent[1]
