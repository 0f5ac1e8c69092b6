"""What the pool's pre-ping costs on PostgreSQL, alone and in a whole request.

1. A checkout and `SELECT 1` on the engine `bastion.db.create_engine` builds, with
   `database_pool_pre_ping` off (the default: a connection the server closed is still
   replaced at checkout, without a round trip) and on (SQLAlchemy pings every checkout
   with `BEGIN`, an empty statement and `ROLLBACK`).
2. The example's authenticated `GET /api/v1/notes` (a page of 20), in the in-process
   ASGI driver, with the pre-ping off and on.

Blocks alternate between the two modes; each figure is the best block's mean, in µs of
wall clock and of this process's CPU (what caps a worker's throughput, and what the
machine's other work disturbs least). Needs
BASTION_TEST_DATABASE_URL (a schema of its own, dropped after); skipped without it.
`python -m bench pool`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable

import httpx
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from bastion.db import create_engine
from bastion.db.migrations import alembic_config, upgrade_database
from bench._asgi import Scope, call, http_scope, lifespan
from notes_app.config import NotesSettings
from notes_app.main import create_notes_app

CHECKOUTS = 500
REQUESTS = 200
#: Blocks measured per mode, interleaved off/on: the minimum damps the machine's noise.
BLOCKS = 9
PASSWORD = "correct horse battery staple"  # noqa: S105 - a benchmark account
SECRET = "pool-benchmark-secret-key-long-enough-0123456789"  # noqa: S105 - benchmark only


async def _timed(block: Callable[[], Awaitable[object]], count: int) -> tuple[float, float]:
    """Wall-clock and this process's CPU µs per call of `block`, over `count` calls.

    The CPU time is what a worker spends (and what caps its throughput); it moves far
    less than the wall clock when other work shares the machine.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        await block()
    return (
        (time.perf_counter() - wall) / count * 1e6,
        (time.process_time() - cpu) / count * 1e6,
    )


async def _list_scope(app: FastAPI) -> Scope:
    """Register, log in and write 20 notes; the authenticated list request's scope."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        email = f"pool-{secrets.token_hex(4)}@example.com"
        await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        login = await client.post(
            "/api/v1/auth/login", data={"username": email, "password": PASSWORD}
        )
        token = login.json()["access_token"]
        for index in range(20):
            await client.post(
                "/api/v1/notes",
                json={"title": f"note {index}"},
                headers={"Authorization": f"Bearer {token}"},
            )
    return http_scope(
        "GET", "/api/v1/notes", headers=[(b"authorization", f"Bearer {token}".encode())]
    )


async def _compare(base: NotesSettings) -> None:
    modes = (False, True)
    apps = {
        m: create_notes_app(base.model_copy(update={"database_pool_pre_ping": m})) for m in modes
    }
    contexts = [await lifespan(app) for app in apps.values()]
    try:
        scopes = {m: await _list_scope(app) for m, app in apps.items()}
        engines = {m: app.state.resources.engine for m, app in apps.items()}
        figures: dict[tuple[str, bool], list[tuple[float, float]]] = {}
        for _ in range(BLOCKS):
            for mode in modes:
                engine, app, scope = engines[mode], apps[mode], scopes[mode]

                async def checkout(engine: AsyncEngine = engine) -> None:
                    async with engine.connect() as connection:
                        await connection.execute(text("SELECT 1"))

                async def listing(app: FastAPI = app, scope: Scope = scope) -> None:
                    assert await call(app, scope) == 200

                figures.setdefault(("checkout", mode), []).append(await _timed(checkout, CHECKOUTS))
                figures.setdefault(("list", mode), []).append(await _timed(listing, REQUESTS))
    finally:
        for context in contexts:
            await context.__aexit__(None, None, None)
    print(
        f"{'PostgreSQL, µs (best of ' + str(BLOCKS) + ')':40} {'pre-ping off':>12} {'on':>8} {'cost':>8}"
    )
    for label, key in (
        ("checkout + SELECT 1", "checkout"),
        ("GET /api/v1/notes (in process)", "list"),
    ):
        for index, clock in ((0, "wall"), (1, "CPU")):
            off = min(f[index] for f in figures[key, False])
            on = min(f[index] for f in figures[key, True])
            print(
                f"{label + ', ' + clock:40} {off:12.0f} {on:8.0f} {on - off:+8.0f} ({(on - off) / on:.0%})"
            )


async def run(url: str) -> None:
    schema = f"bench_pool_{secrets.token_hex(6)}"
    admin = create_async_engine(url, poolclass=NullPool)
    async with admin.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        base = NotesSettings(
            environment="test",
            secret_key=SECRET,
            configure_logging=False,
            database_url=SecretStr(url),
            database_schema=schema,
            ratelimit_default=None,
            password_hash_time_cost=1,
            password_hash_memory_cost=8,
            password_hash_parallelism=1,
        )
        engine = create_engine(base)
        await upgrade_database(engine, alembic_config("notes_app:migrations"))
        await engine.dispose()
        await _compare(base)
    finally:
        async with admin.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


def main() -> None:
    url = os.environ.get("BASTION_TEST_DATABASE_URL")
    if not url:
        print("(set BASTION_TEST_DATABASE_URL to measure the pre-ping on PostgreSQL)")
        return
    for name in ("bastion.access", "httpx"):
        logger = logging.getLogger(name)
        logger.propagate = False
        logger.addHandler(logging.NullHandler())
    asyncio.run(run(url))


if __name__ == "__main__":
    main()
