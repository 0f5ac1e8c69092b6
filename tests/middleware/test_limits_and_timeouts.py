"""Body-size limit (declared and streamed, per-route override) and request timeouts."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from starlette.types import Message, Receive, Scope, Send

from bastion.core import PathTable
from bastion.middleware import (
    BodyLimitConfig,
    BodyLimitMiddleware,
    TimeoutConfig,
    TimeoutMiddleware,
)
from tests.edge import edge_app, edge_settings, serve_as


async def _chunks(total: int, size: int = 256) -> AsyncIterator[bytes]:
    sent = 0
    yield b'{"name": "'
    while sent < total:
        yield b"x" * size
        sent += size
    yield b'"}'


async def test_a_declared_oversized_body_is_refused_before_the_app_runs() -> None:
    calls: list[str] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        calls.append("app")

    sent: list[Message] = []

    async def receive() -> Message:
        raise AssertionError("the body must not be read")

    async def send(message: Message) -> None:
        sent.append(message)

    middleware = BodyLimitMiddleware(inner, config=BodyLimitConfig(max_bytes=10))
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/x",
        "headers": [(b"content-length", b"11")],
    }
    await middleware(scope, receive, send)
    assert calls == []
    assert sent[0]["status"] == 413


async def test_a_chunked_upload_without_content_length_is_counted_and_refused() -> None:
    async with serve_as(edge_app(edge_settings(body_limit=1024))) as client:
        response = await client.post(
            "/api/v1/items",
            content=_chunks(4096),
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "PAYLOAD_TOO_LARGE",
        "message": "The request body is too large.",
        "details": {"max_bytes": 1024},
        "request_id": response.headers["x-request-id"],
    }


async def test_a_chunked_body_within_the_limit_is_served() -> None:
    async with serve_as(edge_app(edge_settings(body_limit=1024))) as client:
        response = await client.post(
            "/api/v1/items", content=_chunks(512), headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("http_version", "headers"),
    [("1.1", [(b"transfer-encoding", b"chunked")]), ("2", [])],
)
async def test_a_streamed_overflow_the_app_does_not_handle_is_still_a_413(
    http_version: str, headers: list[tuple[bytes, bytes]]
) -> None:
    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive()).get("more_body"):
            pass

    chunks = [{"type": "http.request", "body": b"x" * 8, "more_body": True}] * 3
    sent: list[Message] = []

    async def receive() -> Message:
        return chunks.pop()

    async def send(message: Message) -> None:
        sent.append(message)

    middleware = BodyLimitMiddleware(inner, config=BodyLimitConfig(max_bytes=10))
    scope = {
        "type": "http",
        "http_version": http_version,
        "method": "POST",
        "path": "/",
        "headers": headers,
    }
    await middleware(scope, receive, send)
    assert sent[0]["status"] == 413


async def test_a_route_override_raises_the_limit_for_its_prefix_only() -> None:
    settings = edge_settings(body_limit=1024, body_limit_routes={"/api/v1/uploads": 8192})
    body = {"name": "x" * 4000}
    async with serve_as(edge_app(settings)) as client:
        upload = await client.post("/api/v1/uploads", json=body)
        item = await client.post("/api/v1/items", json=body)
    assert upload.status_code == 200
    assert item.status_code == 413
    assert item.json()["error"]["details"] == {"max_bytes": 1024}


def test_path_prefixes_match_whole_segments_and_the_longest_wins() -> None:
    table = PathTable(1, {"/api": 2, "/api/uploads": 3})
    assert table("/api/uploads/big") == 3
    assert table("/api/uploadsX") == 2
    assert table("/apiX") == 1
    assert table("/api") == 2


async def test_a_request_over_its_budget_gets_a_504_envelope() -> None:
    settings = edge_settings(request_timeout_routes={"/api/v1/slow": 0.01})
    async with serve_as(edge_app(settings)) as client:
        response = await client.get("/api/v1/slow")
        fast = await client.get("/api/v1/items")
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "REQUEST_TIMEOUT"
    assert response.json()["error"]["details"] == {"timeout_seconds": 0.01}
    assert fast.status_code == 200


async def test_the_apps_own_timeout_error_is_a_500_not_a_504() -> None:
    async with serve_as(edge_app(edge_settings())) as client:
        response = await client.get("/api/v1/own-timeout")
    assert response.status_code == 500


async def test_a_timeout_after_the_response_started_only_ends_the_stream() -> None:
    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        import asyncio

        await send({"type": "http.response.start", "status": 200, "headers": []})
        await asyncio.sleep(30)

    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    middleware = TimeoutMiddleware(inner, config=TimeoutConfig(seconds=0.01))
    await middleware({"type": "http", "method": "GET", "path": "/", "headers": []}, receive, send)
    assert [m["type"] for m in sent] == ["http.response.start"]


async def test_an_app_that_swallows_the_cancellation_is_answered_and_uncancelled() -> None:
    import asyncio

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:  # a badly behaved app: it carries on
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"late"})

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    middleware = TimeoutMiddleware(inner, config=TimeoutConfig(seconds=0.01))
    scope = {"type": "http", "method": "GET", "path": "/", "headers": []}
    await middleware(scope, None, send)  # type: ignore[arg-type]
    assert sent[0]["status"] == 200
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0  # our cancellation was taken back


@pytest.mark.parametrize("seconds", [0, -1])
async def test_a_zero_budget_turns_the_timeout_off_for_a_prefix(seconds: float) -> None:
    calls: list[str] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        calls.append(scope["path"])

    middleware = TimeoutMiddleware(
        inner, config=TimeoutConfig(seconds=5, routes={"/events": seconds})
    )
    scope = {"type": "http", "method": "GET", "path": "/events/1", "headers": []}
    await middleware(scope, None, None)  # type: ignore[arg-type]
    assert calls == ["/events/1"]


async def test_a_shorter_budget_started_later_still_times_out_at_its_own_deadline() -> None:
    import asyncio

    import anyio

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] != "/fast":
            await asyncio.sleep(30)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    middleware = TimeoutMiddleware(
        inner, config=TimeoutConfig(seconds=60, routes={"/short": 0.01, "/fast": 0.01})
    )

    async def call(path: str) -> list[Message]:
        sent: list[Message] = []

        async def send(message: Message) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": path, "headers": []}
        await middleware(scope, None, send)  # type: ignore[arg-type]
        return sent

    long_task = asyncio.ensure_future(call("/long"))
    await asyncio.sleep(0)  # the 60 s budget is watched first
    with anyio.fail_after(5):  # a bound for a hang, not a timing assertion
        assert (await call("/fast"))[0]["status"] == 200
        assert (await call("/short"))[0]["status"] == 504
        assert (await call("/short"))[0]["status"] == 504
    assert not long_task.done()
    long_task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await long_task


async def test_once_a_commit_lifts_the_deadline_the_response_is_the_apps_own() -> None:
    import asyncio

    from bastion.core import lift_deadline

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        lift_deadline()  # what `UnitOfWork.commit` does first
        await asyncio.sleep(0.2)  # the 0.01 s deadline passes meanwhile
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"kept"})

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    middleware = TimeoutMiddleware(inner, config=TimeoutConfig(seconds=0.01))
    scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    await middleware(scope, None, send)  # type: ignore[arg-type]
    assert sent[0]["status"] == 201
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0


async def test_a_server_cancellation_still_propagates_after_the_deadline_is_lifted() -> None:
    import asyncio

    from bastion.core import lift_deadline

    lifted = asyncio.Event()

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        lift_deadline()
        lifted.set()
        await asyncio.sleep(30)

    middleware = TimeoutMiddleware(inner, config=TimeoutConfig(seconds=60))
    scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    served = asyncio.ensure_future(middleware(scope, None, None))  # type: ignore[arg-type]
    await lifted.wait()
    served.cancel()  # the server shutting down
    with pytest.raises(asyncio.CancelledError):
        await served


def test_lifting_outside_a_timed_request_does_nothing() -> None:
    from bastion.core import lift_deadline, request_deadline_var

    assert request_deadline_var.get() is None
    lift_deadline()
