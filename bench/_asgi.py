"""An in-process ASGI driver: prebuilt scopes, no sockets, µs per request."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[dict[str, Any]]], Callable[[dict[str, Any]], Awaitable[None]]],
    Awaitable[None],
]


def http_scope(
    method: str, path: str, *, headers: list[tuple[bytes, bytes]] | None = None, query: bytes = b""
) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": [(b"host", b"127.0.0.1"), *(headers or [])],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def call(app: ASGIApp, scope: Scope, body: bytes = b"") -> int:
    """Send one request through `app`; return the status."""
    status = 0
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)  # a disconnect would only come after the response
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(dict(scope), receive, send)
    return status


async def measure(
    app: ASGIApp, scope: Scope, *, body: bytes = b"", requests: int, rounds: int = 5
) -> float:
    """Best-of-`rounds` mean µs per request (the minimum damps the machine's noise)."""
    status = await call(app, scope, body)
    assert status < 500, f"warm-up answered {status}"
    per_round: list[float] = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(requests):
            status = await call(app, scope, body)
        per_round.append((time.perf_counter() - started) / requests * 1e6)
        assert status < 400, f"the benchmark measured {status} answers"
    return min(per_round)


async def lifespan(app: Any) -> Any:
    """Enter `app`'s lifespan; returns the context manager to exit later."""
    context = app.router.lifespan_context(app)
    await context.__aenter__()
    return context


def median(values: list[float]) -> float:
    return statistics.median(values)
