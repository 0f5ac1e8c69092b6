"""The app factory's cost per request: bare FastAPI vs `create_app` without a global rate limit.

In-process ASGI with prebuilt scopes (no sockets). Figures are best-of-5 means; compare the
ratios printed in one run, not absolute times across runs.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel

from bastion import create_app
from bastion.core import BastionSettings
from bench._asgi import http_scope, lifespan, measure

REQUESTS = 3000


class Item(BaseModel):
    id: int
    name: str


def _routes(router: APIRouter | FastAPI) -> None:
    @router.get("/small")
    async def small() -> dict[str, str]:
        return {"hello": "world"}

    @router.get("/items/{item_id}")
    async def item(item_id: int) -> Item:
        return Item(id=item_id, name="thing")

    @router.post("/items", status_code=201)
    async def create(body: Item) -> Item:
        return body


def _bare() -> FastAPI:
    app = FastAPI()
    router = APIRouter()
    _routes(router)
    app.include_router(router, prefix="/api/v1")
    return app


def _bastion() -> FastAPI:
    router = APIRouter()
    _routes(router)
    # The global rate limit would answer 429 to a benchmark's one client; the edge
    # benchmark measures it. This one measures create_app's own layers.
    settings = BastionSettings(
        environment="test",
        configure_logging=False,
        database_url="sqlite+aiosqlite:///:memory:",
        ratelimit_default=None,
    )
    return create_app(settings, routers=[router])


async def run() -> None:
    # The access line is part of the cost; send it nowhere rather than to a terminal.
    logging.getLogger("bastion.access").propagate = False
    logging.getLogger("bastion.access").addHandler(logging.NullHandler())
    logging.getLogger("bastion.access").setLevel(logging.INFO)
    bare, full = _bare(), _bastion()
    context = await lifespan(full)
    cases = [
        ("small JSON GET", http_scope("GET", "/api/v1/small"), b""),
        ("path param + response model", http_scope("GET", "/api/v1/items/7"), b""),
        (
            "JSON POST with validation",
            http_scope("POST", "/api/v1/items", headers=[(b"content-type", b"application/json")]),
            b'{"id": 1, "name": "thing"}',
        ),
    ]
    print(f"{'endpoint':32} {'bare µs':>9} {'bastion µs':>11} {'ratio':>6}")
    for name, scope, body in cases:
        bare_us = await measure(bare, scope, body=body, requests=REQUESTS)
        full_us = await measure(full, scope, body=body, requests=REQUESTS)
        print(f"{name:32} {bare_us:9.1f} {full_us:11.1f} {full_us / bare_us:6.2f}x")
    await context.__aexit__(None, None, None)


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
