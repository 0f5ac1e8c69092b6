"""Helpers for the edge-stack tests: a small app, a client with a chosen peer, a Redis proxy."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import httpx
from fastapi import APIRouter, FastAPI, Response
from pydantic import BaseModel
from starlette.types import ASGIApp

from bastion import create_app
from bastion.core import BastionSettings
from tests.conftest import TEST_SECRET

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "cache-control": "no-store",
}


class ItemIn(BaseModel):
    name: str


class ItemOut(BaseModel):
    id: int
    name: str


def edge_router() -> APIRouter:
    """Routes exercising each edge behaviour."""
    router = APIRouter()

    @router.get("/items")
    async def list_items() -> dict[str, bool]:
        return {"ok": True}

    @router.post("/items", status_code=201)
    async def create_item(item: ItemIn) -> ItemOut:
        return ItemOut(id=1, name=item.name)

    @router.post("/uploads")
    async def upload(item: ItemIn) -> dict[str, int]:
        return {"size": len(item.name)}

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    @router.get("/slow")
    async def slow() -> None:
        await asyncio.sleep(30)

    @router.get("/own-headers")
    async def own_headers(response: Response) -> dict[str, bool]:
        response.headers["Cache-Control"] = "public, max-age=60"
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        response.headers["Server"] = "leaky/1.0"
        return {"ok": True}

    @router.get("/own-timeout")
    async def own_timeout() -> None:
        raise TimeoutError

    return router


def edge_settings(**overrides: object) -> BastionSettings:
    """Test settings with a private rate-limit key prefix."""
    values: dict[str, object] = {
        "environment": "test",
        "secret_key": TEST_SECRET,
        "configure_logging": False,
        "ratelimit_key_prefix": f"bastion-test-{uuid.uuid4().hex}",
    }
    values.update(overrides)
    return BastionSettings(**values)  # type: ignore[arg-type]


def edge_app(settings: BastionSettings, *routers: APIRouter) -> FastAPI:
    """The full stack over the edge routes (and any extra routers)."""
    return create_app(settings, routers=[edge_router(), *routers])


@asynccontextmanager
async def serve_as(
    app: FastAPI, peer: str = "198.51.100.7", *, lifespan: bool = True
) -> AsyncIterator[httpx.AsyncClient]:
    """Run the lifespan and yield a client whose requests come from `peer`."""
    async with contextlib.AsyncExitStack() as stack:
        if lifespan:
            await stack.enter_async_context(app.router.lifespan_context(app))
        transport = httpx.ASGITransport(app=app, client=(peer, 40000), raise_app_exceptions=False)
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url="http://testserver")
        )
        yield client


async def clear_redis_keys(url: str, prefix: str) -> None:
    """Delete the keys a test created under its own prefix."""
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"*{prefix}*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def proxied_redis(redis_url: str) -> tuple[TcpProxy, str]:
    """A started `TcpProxy` to the test Redis, and the URL that reaches Redis through it."""
    target = urlsplit(redis_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 6379)
    await proxy.start()
    return proxy, f"redis://127.0.0.1:{proxy.port}{target.path}"


class TcpProxy:
    """A TCP relay to a server (Redis, PostgreSQL) that a test can cut, hang or bring back.

    `stop()` closes the listener and every relayed connection: to the app this
    is the server going away. `stop(reset=True)` leaves the app's connections
    open but dead, as a restart of the server's host does: the first bytes sent
    on one are answered with a reset, so the client learns of it only when it
    uses the connection. `stall()` keeps accepting connections but relays
    nothing either way: a server that accepts connections and never answers.
    `lose_next_reply()` lets the next answer of the server die on the way: the
    server has done the work, the client sees its connection reset.
    `cut_on = b"..."` resets every connection whose client sends those bytes (a command
    name, say) before they reach the server, until set back to None.
    `start()` again serves on the same port. The shared server is never touched.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.stalled = False
        self.losing = False
        self.cut_on: bytes | None = None
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        # The client side of each relayed connection, and those a reset stop left dead.
        self._clients: dict[asyncio.StreamWriter, asyncio.StreamReader] = {}
        self._dead: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.stalled = False
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self, *, reset: bool = False) -> None:
        if self._server is None or not self._server.is_serving():
            return
        self._server.close()
        dead = dict(self._clients) if reset else {}
        self._dead.update(dead)
        for writer in list(self._writers - self._dead):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if not reset:  # a dead connection is still open: waiting would wait for it
            await self._server.wait_closed()
        self._writers.clear()
        self._clients.clear()
        for writer, reader in dead.items():
            task = asyncio.create_task(self._reset_on_use(reader, writer))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def lose_next_reply(self) -> None:
        """Reset the connection that the server next answers on, instead of relaying the answer."""
        self.losing = True

    def stall(self) -> None:
        """From now on, swallow what clients send and answer nothing, on old and new connections."""
        self.stalled = True

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.stalled:
            self._writers.add(writer)
            with contextlib.suppress(ConnectionError):
                while await reader.read(65536):
                    pass
            writer.close()
            self._writers.discard(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))
        self._clients[writer] = reader
        pumps = [
            asyncio.create_task(self._pump(reader, up_writer)),
            asyncio.create_task(self._pump(up_reader, writer)),
        ]
        self._tasks.update(pumps)
        await asyncio.gather(*pumps, return_exceptions=True)
        self._tasks.difference_update(pumps)
        for w in (writer, up_writer):
            self._close(w)
            self._writers.discard(w)

    def _close(self, writer: asyncio.StreamWriter) -> None:
        if writer not in self._dead:
            writer.close()

    async def _reset_on_use(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            await reader.read(1)
        finally:
            writer.transport.abort()
            self._dead.discard(writer)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if self.stalled:
                    continue
                if self.losing and writer in self._clients:  # an answer, on its way back
                    self.losing = False
                    writer.transport.abort()
                    return
                if self.cut_on is not None and writer not in self._clients and self.cut_on in data:
                    writer.transport.abort()  # the server's side: the client sees a reset
                    return
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._close(writer)


class ServerExchange:
    """One request as an ASGI server holds it: the scope, and the `receive`/`send` it hands on.

    Like a real server's, the `send` given to the app is a bound method of an
    object holding the scope: anything the app keeps in the scope that holds
    `send` closes a reference cycle. (`httpx.ASGITransport` leaves cycles of
    its own, so tests that count them call the app directly.)
    """

    def __init__(
        self, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b""
    ) -> None:
        self.scope: dict[str, object] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"testserver"), *headers],
            "client": ("198.51.100.7", 40000),
            "server": ("testserver", 80),
        }
        self.body = body
        self.status = 0

    async def receive(self) -> dict[str, object]:
        return {"type": "http.request", "body": self.body, "more_body": False}

    async def send(self, message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])  # type: ignore[call-overload]

    async def run(self, app: ASGIApp) -> int:
        """Serve the request with `app`; the response's status."""
        await app(self.scope, self.receive, self.send)
        return self.status
