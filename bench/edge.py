"""Edge-stack cost: bare FastAPI vs bastion's full stack vs a typical peer stack.

In-process ASGI (the app called directly with prebuilt scopes, no sockets),
then the `limits` storages and strategies on their own, then a bounded HTTP
run under uvicorn on 127.0.0.1. Run: `python -m bench.edge`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import jwt
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel, Field

JWT_KEY = "bench-signing-key-that-is-long-enough-for-hs256"
TOKEN = jwt.encode({"sub": "42", "exp": 4102444800}, JWT_KEY, algorithm="HS256")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "3000"))
BIG_LIMIT = "100000000/minute"


class ItemIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    tags: list[str] = Field(default_factory=list, max_length=10)


class ItemOut(BaseModel):
    id: int
    name: str
    tags: list[str]


def _bearer(authorization: Annotated[str, Header()] = "") -> str:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401)
    try:
        claims = jwt.decode(token, JWT_KEY, algorithms=["HS256"])
    except jwt.PyJWTError as exc:
        raise HTTPException(401) from exc
    return str(claims["sub"])


def api_router() -> APIRouter:
    """The same four endpoints for every stack."""
    router = APIRouter()

    @router.get("/items")
    async def list_items() -> dict[str, object]:
        return {"ok": True, "count": 3}

    @router.get("/items/{item_id}")
    async def get_item(item_id: int) -> ItemOut:
        return ItemOut(id=item_id, name="widget", tags=["a", "b"])

    @router.post("/items", status_code=201)
    async def create_item(item: ItemIn) -> ItemOut:
        return ItemOut(id=1, name=item.name, tags=item.tags)

    @router.get("/me")
    async def me(user: Annotated[str, Depends(_bearer)]) -> dict[str, str]:
        return {"user": user}

    return router


def bare_app() -> FastAPI:
    """FastAPI with nothing added."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.include_router(api_router(), prefix="/api/v1")
    return app


def bastion_app(redis_url: str | None = None, *, access_log: bool = True) -> FastAPI:
    """bastion's full edge stack (memory rate limit unless `redis_url`)."""
    from bastion import create_app
    from bastion.core import BastionSettings

    settings = BastionSettings(
        environment="test",
        configure_logging=False,
        secret_key=JWT_KEY,
        ratelimit_default=BIG_LIMIT,
        cors_allow_origins=["https://app.example.com"],
        redis_url=redis_url,
        ratelimit_key_prefix=f"bench-{uuid.uuid4().hex}",
        access_log=access_log,
    )
    return create_app(settings, routers=[api_router()])


def peer_app() -> FastAPI:
    """The stack teams assemble from popular packages."""
    from asgi_correlation_id import CorrelationIdMiddleware
    from fastapi.middleware.cors import CORSMiddleware
    from secure import Secure
    from secure.middleware import SecureASGIMiddleware
    from slowapi import Limiter, _rate_limit_exceeded_handler
    from slowapi.errors import RateLimitExceeded
    from slowapi.middleware import SlowAPIMiddleware
    from slowapi.util import get_remote_address
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    limiter = Limiter(key_func=get_remote_address, default_limits=[BIG_LIMIT])
    app = bare_app()
    app.state.limiter = limiter
    app.add_exception_handler(RateLimitExceeded, _rate_limit_exceeded_handler)  # type: ignore[arg-type]

    async def envelope(request: Request, exc: Exception) -> JSONResponse:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        body = {"error": {"code": str(status), "message": "error", "details": None}}
        return JSONResponse(body, status_code=status)

    app.add_exception_handler(HTTPException, envelope)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, envelope)
    app.add_middleware(SlowAPIMiddleware)
    app.add_middleware(
        CORSMiddleware, allow_origins=["https://app.example.com"], allow_methods=["*"]
    )
    app.add_middleware(SecureASGIMiddleware, secure=Secure.with_default_headers())
    app.add_middleware(CorrelationIdMiddleware)
    return app


# --- in-process ASGI ---------------------------------------------------------------


def _scope(method: str, path: str, headers: Sequence[tuple[bytes, bytes]] = ()) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"bench"), (b"user-agent", b"bench"), *headers],
        "client": ("198.51.100.7", 40000),
        "server": ("127.0.0.1", 8000),
    }


_POST_BODY = b'{"name": "widget", "tags": ["a", "b"]}'
ENDPOINTS: dict[str, tuple[dict[str, Any], bytes]] = {
    "small JSON GET": (_scope("GET", "/api/v1/items"), b""),
    "path param + model": (_scope("GET", "/api/v1/items/7"), b""),
    "JSON POST + validation": (
        _scope(
            "POST",
            "/api/v1/items",
            [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(_POST_BODY)).encode()),
            ],
        ),
        _POST_BODY,
    ),
    "Bearer-JWT GET": (
        _scope("GET", "/api/v1/me", [(b"authorization", f"Bearer {TOKEN}".encode())]),
        b"",
    ),
}


async def _call(app: Any, scope: dict[str, Any], body: bytes) -> int:
    status = 0
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def _run_requests(
    app: Any, scope: dict[str, Any], body: bytes, n: int, clients: int
) -> float:
    peers = [(f"10.{i // 250}.{i % 250}.1", 40000) for i in range(clients)]
    status = 0
    started = time.perf_counter()
    for i in range(n):
        request = dict(scope)
        if clients > 1:
            request["client"] = peers[i % clients]
        status = await _call(app, request, body)
        await asyncio.sleep(0)  # let the loop turn, as a server's would between requests
    elapsed = time.perf_counter() - started
    assert status < 300, f"unexpected status {status}"
    return elapsed / n * 1e6


class _Timings:
    """µs/request of each app in each round of one interleaved measurement."""

    def __init__(self, names: Sequence[str]) -> None:
        self.rounds: dict[str, list[float]] = {name: [] for name in names}

    def __getitem__(self, name: str) -> float:
        """The app's best round (the least disturbed by the machine)."""
        return min(self.rounds[name])

    def ratio(self, name: str, base: str) -> float:
        """`name`'s best round over `base`'s."""
        return self[name] / self[base]


async def _interleaved(
    apps: dict[str, Any], scope: dict[str, Any], body: bytes, clients: int = 1
) -> _Timings:
    """µs/request of each app in each round, the apps interleaved in every round."""
    for app in apps.values():
        await _run_requests(app, scope, body, 200, clients)  # warm-up
    timings = _Timings(list(apps))
    order = list(apps.items())
    for round_ in range(ROUNDS):
        # Each round starts with another app: an app runs measurably faster after
        # one that ran the same code, so no app may always follow the same one.
        shift = round_ % len(order)
        for name, app in order[shift:] + order[:shift]:
            timings.rounds[name].append(await _run_requests(app, scope, body, REQUESTS, clients))
    return timings


async def _access_line(app: Any, scope: dict[str, Any], body: bytes) -> None:
    """The access line's cost: the small GET with it on (JSON lines to a file) and off.

    Off is the same app with `access_log=False`, the setting a host turns it off
    with; the logger stays at INFO throughout, so both apps ask it the same
    question and only the line itself differs.
    """
    import tempfile

    from bastion.observability import JsonFormatter, RequestIdFilter

    access = logging.getLogger("bastion.access")
    silent = bastion_app(access_log=False)
    with tempfile.TemporaryDirectory() as directory:
        handler = logging.FileHandler(os.path.join(directory, "access.log"))
        handler.setFormatter(JsonFormatter())
        handler.addFilter(RequestIdFilter())
        access.addHandler(handler)
        access.setLevel(logging.INFO)
        try:
            async with silent.router.lifespan_context(silent):
                f = await _interleaved({"off": silent, "on": app}, scope, body)
        finally:
            access.setLevel(logging.WARNING)
            access.removeHandler(handler)
            handler.close()
    cost = f["on"] - f["off"]
    verdict = "meets" if cost <= 25 else "misses"
    print(
        f"access line (JSON to a file), small GET: {f['off']:.1f} µs off, {f['on']:.1f} µs on: "
        f"{cost:.1f} µs per line ({verdict} the <= 25 µs target)"
    )


def edge_only_app() -> FastAPI:
    """Bare FastAPI plus bastion's edge middleware alone (no app factory, no handlers)."""
    from contextlib import asynccontextmanager

    from bastion.core import BastionSettings
    from bastion.middleware import edge_middleware
    from bastion.ratelimit import TrustedProxies, create_rate_limiter
    from bastion.web import Resources

    settings = BastionSettings(
        environment="test",
        configure_logging=False,
        ratelimit_default=BIG_LIMIT,
        cors_allow_origins=["https://app.example.com"],
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        app.state.resources = Resources(
            settings, limiter=create_rate_limiter(settings), trusted_proxies=TrustedProxies()
        )
        yield

    app = FastAPI(
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        middleware=edge_middleware(settings),
        lifespan=lifespan,
    )
    app.include_router(api_router(), prefix="/api/v1")
    return app


async def asgi_table(redis_url: str | None = None) -> None:
    from contextlib import AsyncExitStack

    stacks: dict[str, Callable[[], FastAPI]] = {
        "bare FastAPI": bare_app,
        "bare+edge": edge_only_app,
        "bastion": bastion_app,
        "peer stack": peer_app,
    }
    print(
        f"\nin-process ASGI, {ROUNDS} interleaved rounds x {REQUESTS} requests (µs/request, the "
        "best round of each; bare+edge = bastion's middleware alone on bare FastAPI)"
    )
    header = "".join(f"{name:>14}" for name in stacks)
    print(
        f"{'endpoint':<24}{header}{'edge/bare':>11}{'bastion/bare':>14}{'peer/bastion':>14}"
        f"{'added: bastion/peer':>21}"
    )
    ratios: list[float] = []
    edge_ratios: list[float] = []
    async with AsyncExitStack() as stack:
        apps: dict[str, Any] = {}
        for name, factory in stacks.items():
            app = factory()
            await stack.enter_async_context(app.router.lifespan_context(app))
            apps[name] = app
        for endpoint, (scope, body) in ENDPOINTS.items():
            f = await _interleaved(apps, scope, body)
            ratios.append(f.ratio("bastion", "bare FastAPI"))
            edge_ratios.append(f.ratio("bare+edge", "bare FastAPI"))
            # What each stack adds to bare FastAPI; target: bastion's is at most a third.
            added = (f["bastion"] - f["bare FastAPI"]) / (f["peer stack"] - f["bare FastAPI"])
            print(
                f"{endpoint:<24}"
                + "".join(f"{f[name]:>14.1f}" for name in stacks)
                + f"{f.ratio('bare+edge', 'bare FastAPI'):>10.2f}x"
                + f"{f.ratio('bastion', 'bare FastAPI'):>13.2f}x"
                + f"{f.ratio('peer stack', 'bastion'):>13.2f}x"
                + f"{added:>20.2f}{'' if added <= 1 / 3 else '  (over the 1/3 target)'}"
            )
        geomean = statistics.geometric_mean(ratios)
        verdict = "meets" if geomean <= 1.4 else "misses"
        print(
            f"geometric mean bastion/bare over the four endpoints: {geomean:.2f}x "
            f"({verdict} the <= 1.4x target)"
        )
        # The edge layers alone, without what else `create_app` adds (the request metrics).
        print(
            "geometric mean bare+edge/bare (the edge layers alone): "
            f"{statistics.geometric_mean(edge_ratios):.2f}x"
        )
        scope, body = ENDPOINTS["small JSON GET"]
        await _access_line(apps["bastion"], scope, body)
        for clients in (1, 1000):
            f = await _interleaved(
                {"bare": apps["bare FastAPI"], "bastion": apps["bastion"]}, scope, body, clients
            )
            print(
                f"small GET from {clients:>4} client IPs: bare {f['bare']:.1f} µs, "
                f"bastion {f['bastion']:.1f} µs ({f.ratio('bastion', 'bare'):.2f}x)"
            )
        if redis_url:
            app = bastion_app(redis_url)
            prefix = app.state.settings.ratelimit_key_prefix
            async with app.router.lifespan_context(app):
                f = await _interleaved({"bare": apps["bare FastAPI"], "redis": app}, scope, body)
                client = app.state.resources.redis
                keys = [k async for k in client.scan_iter(match=f"*{prefix}*", count=1000)]
                if keys:
                    await client.delete(*keys)
            print(
                f"small GET, bastion with Redis rate limiting (local Redis): {f['redis']:.1f} µs "
                f"({f.ratio('redis', 'bare'):.2f}x bare)"
            )


# --- limits storages and strategies --------------------------------------------------


async def limiter_table(redis_url: str | None) -> None:
    from limits.aio.storage import MemoryStorage

    from bastion.ratelimit import (
        RateLimiter,
        RedisSlidingWindow,
        close_rate_limiter,
        rate_limit_storage,
    )

    print(
        "\n(stock = limits' own strategies on its async MemoryStorage; memory = the same storage,"
        " with bastion's MemorySlidingWindow for the sliding window counter)"
    )
    print("RateLimiter.hit (hit + window stats), µs/op, event loop turning between hits")
    backends: list[tuple[str, int]] = [("stock", 5000), ("memory", 20000)]
    if redis_url:
        backends.append(("redis", 2000))
    for backend, n in backends:
        for strategy in ("sliding-window-counter", "moving-window", "fixed-window"):
            for keys in (1, 1000):
                client = None
                if backend == "stock":
                    storage = MemoryStorage(wrap_exceptions=True)
                elif backend == "memory":
                    storage = rate_limit_storage(None)
                else:
                    from redis.asyncio import Redis

                    client = Redis.from_url(redis_url or "")
                    storage = rate_limit_storage(client)
                prefix = f"bench-{uuid.uuid4().hex}"
                window = None if client is None else RedisSlidingWindow(client)
                limiter = RateLimiter(storage, strategy=strategy, key_prefix=prefix, window=window)  # type: ignore[arg-type]
                if backend == "stock":
                    limiter.window = None  # limits' own strategy, for comparison
                names = [f"10.0.{i // 250}.{i % 250}" for i in range(keys)]
                for i in range(max(keys, 500)):
                    await limiter.hit(BIG_LIMIT, "g", names[i % keys])
                started = time.perf_counter()
                for i in range(n):
                    await limiter.hit(BIG_LIMIT, "g", names[i % keys])
                    await asyncio.sleep(0)
                per_op = (time.perf_counter() - started) / n * 1e6
                print(f"  {backend:<7}{strategy:<24}{keys:>5} keys: {per_op:8.1f}")
                await close_rate_limiter(limiter)
                if client is not None:
                    keys_left = [k async for k in client.scan_iter(match=f"*{prefix}*", count=1000)]
                    if keys_left:
                        await client.delete(*keys_left)
                    await client.aclose()


# --- HTTP under uvicorn ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def make_http_app() -> FastAPI:
    """The app the uvicorn run serves (picked by BENCH_STACK)."""
    return {"bare": bare_app, "bastion": bastion_app, "peer": peer_app}[os.environ["BENCH_STACK"]]()


_REQUEST = b"GET /api/v1/items HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench\r\n\r\n"


async def _load(port: int, total: int, concurrency: int) -> tuple[float, float, float, set[bytes]]:
    """A minimal keep-alive HTTP/1.1 load generator (cheaper than a full client library)."""
    latencies: list[float] = []
    leaked: set[bytes] = set()
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                writer.write(_REQUEST)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.lower() == b"content-length":
                        length = int(value)
                    elif name.lower() == b"server":
                        leaked.add(value.strip())
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                assert head.startswith(b"HTTP/1.1 200"), head[:40]
        finally:
            writer.close()
            await writer.wait_closed()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000
    return total / elapsed, p50, p99, leaked


def http_table() -> None:
    total, concurrency = int(os.environ.get("BENCH_HTTP_REQUESTS", "5000")), 16
    print(f"\nuvicorn on 127.0.0.1, {total} GET /api/v1/items, {concurrency} concurrent, 1 worker")
    for stack in ("bare", "bastion", "peer"):
        port = _free_port()
        code = (
            "import uvicorn; uvicorn.run('bench.edge:make_http_app', factory=True, "
            f"host='127.0.0.1', port={port}, log_level='warning', access_log=False, "
            "server_header=False)"
        )
        env = {**os.environ, "BENCH_STACK": stack}
        server = subprocess.Popen([sys.executable, "-c", code], env=env)  # noqa: S603
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            asyncio.run(_load(port, 200, concurrency))  # warm-up
            rps, p50, p99, leaked = asyncio.run(_load(port, total, concurrency))
            note = f"  Server header sent: {sorted(leaked)}" if leaked else ""
            print(f"  {stack:<8}{rps:>8.0f} req/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms{note}")
        finally:
            server.terminate()
            server.wait(timeout=10)


def main() -> None:
    redis_url = os.environ.get("BASTION_BENCH_REDIS_URL") or os.environ.get(
        "BASTION_TEST_REDIS_URL"
    )
    # Logging is process-wide and another benchmark may have turned the access line
    # on: the edge tables measure the stack with it off (the bare app logs nothing
    # either), and one line below measures it on, to a handler that drops it.
    access = logging.getLogger("bastion.access")
    access.propagate = False
    access.addHandler(logging.NullHandler())
    access.setLevel(logging.WARNING)
    asyncio.run(asgi_table(redis_url))
    asyncio.run(limiter_table(redis_url))
    if os.environ.get("BENCH_SKIP_HTTP") != "1":
        http_table()


if __name__ == "__main__":
    main()
