"""What an Idempotency-Key costs: SQL statements per request, and time, with and without the option.

Run: `python -m bench.idempotency`. A route without the option and an idempotent route served
without a key must issue the same statements; a keyed create adds one primary-key read and
one insert, both in the request's own transaction (between its BEGIN and COMMIT).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI, status
from pydantic import BaseModel
from sqlalchemy import String, event, insert, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bastion import create_app
from bastion.core import BastionSettings
from bastion.idempotency import IdempotencyRecord, IdempotentRoute
from bastion.web import Resources, Uow
from bench._asgi import call, http_scope, lifespan, measure

SECRET = "bench-secret-key-bench-secret-key-0123456789"  # noqa: S105  # a bench-only key


class BenchBase(DeclarativeBase):
    pass


class Entry(BenchBase):
    __tablename__ = "bench_entries"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))


class EntryIn(BaseModel):
    name: str


class EntryOut(BaseModel):
    id: int
    name: str


def _router(prefix: str, route_class: type | None) -> APIRouter:
    router = (
        APIRouter(prefix=prefix)
        if route_class is None
        else APIRouter(prefix=prefix, route_class=route_class)
    )

    @router.post("", status_code=status.HTTP_201_CREATED)
    async def create(data: EntryIn, uow: Uow) -> EntryOut:
        new_id = await uow.session.scalar(insert(Entry).values(name=data.name).returning(Entry.id))
        assert new_id is not None
        return EntryOut(id=new_id, name=data.name)

    return router


@asynccontextmanager
async def _tables(_app: FastAPI, resources: Resources) -> AsyncIterator[None]:
    assert resources.engine is not None
    async with resources.engine.begin() as connection:
        await connection.run_sync(BenchBase.metadata.create_all)
        await connection.run_sync(
            IdempotencyRecord.metadata.create_all, tables=[IdempotencyRecord.__table__]
        )
    yield


def _app(database: Path) -> FastAPI:
    settings = BastionSettings(
        environment="test",
        secret_key=SECRET,
        database_url=f"sqlite+aiosqlite:///{database}",
        configure_logging=False,
        ratelimit_default=None,
    )
    routers = [_router("/plain", None), _router("/keyed", IdempotentRoute)]
    return create_app(settings, routers=routers, lifespan=_tables)


_TABLES = ("bench_entries", "idempotency_records")


def _kind(statement: str) -> str:
    verb = statement.split()[0].upper()
    if verb in {"BEGIN", "COMMIT"}:
        return statement.upper()
    table = next((name for name in _TABLES if name in statement), "?")
    return f"{verb} {table}"


async def _run() -> None:
    with tempfile.TemporaryDirectory() as directory:
        app = _app(Path(directory) / "bench.db")
        context = await lifespan(app)
        try:
            engine = app.state.resources.engine
            statements: list[str] = []

            @event.listens_for(engine.sync_engine, "before_cursor_execute")
            def _record(_conn: Connection, _cursor: object, statement: str, *_args: object) -> None:
                statements.append(statement)

            @event.listens_for(engine.sync_engine, "commit")
            def _commit(_conn: Connection) -> None:
                statements.append("COMMIT")

            body = b'{"name": "entry"}'
            json = [(b"content-type", b"application/json")]

            async def traced(path: str, headers: list[tuple[bytes, bytes]]) -> list[str]:
                statements.clear()
                status_code = await call(app, http_scope("POST", path, headers=headers), body)
                assert status_code == 201, status_code
                return [_kind(statement) for statement in statements]

            plain = await traced("/api/v1/plain", json)
            unkeyed = await traced("/api/v1/keyed", json)
            keyed = await traced("/api/v1/keyed", [*json, (b"idempotency-key", b"bench-1")])
            replay = await traced("/api/v1/keyed", [*json, (b"idempotency-key", b"bench-1")])
            print(f"route without the option:          {len(plain)} statements  {plain}")
            print(f"idempotent route, no key:          {len(unkeyed)} statements  {unkeyed}")
            print(f"idempotent route, new key:         {len(keyed)} statements  {keyed}")
            print(f"idempotent route, replayed key:    {len(replay)} statements  {replay}")
            assert unkeyed == plain, "a request without a key must cost nothing more"
            added = list(keyed)
            for kind in plain:
                added.remove(kind)
            assert sorted(added) == ["INSERT idempotency_records", "SELECT idempotency_records"]
            # Both added statements sit inside the one transaction: after BEGIN, before COMMIT.
            assert keyed[0].startswith("BEGIN")
            assert keyed[-1] == "COMMIT"
            assert keyed.count("COMMIT") == 1
            print(f"a keyed create adds: {sorted(added)}, in the same transaction")
            async with engine.connect() as connection:
                plan = await connection.execute(
                    text(
                        "EXPLAIN QUERY PLAN SELECT status_code FROM idempotency_records "
                        "WHERE key_hash = 'x'"
                    )
                )
                print("the key lookup's plan:", " | ".join(str(row[-1]) for row in plan))

            requests = 300
            plain_us = await measure(
                app, http_scope("POST", "/api/v1/plain", headers=json), body=body, requests=requests
            )
            unkeyed_us = await measure(
                app, http_scope("POST", "/api/v1/keyed", headers=json), body=body, requests=requests
            )
            replay_scope = http_scope(
                "POST", "/api/v1/keyed", headers=[*json, (b"idempotency-key", b"bench-1")]
            )
            replay_us = await measure(app, replay_scope, body=body, requests=requests)
            keyed_us = await _fresh_keys(app, body, json, requests)
            print(f"POST, route without the option:   {plain_us:8.0f} µs/request")
            print(f"POST, idempotent route, no key:   {unkeyed_us:8.0f} µs/request")
            print(f"POST, idempotent route, new key:  {keyed_us:8.0f} µs/request")
            print(f"POST, idempotent route, replay:   {replay_us:8.0f} µs/request")
        finally:
            await context.__aexit__(None, None, None)


async def _fresh_keys(
    app: FastAPI, body: bytes, json: list[tuple[bytes, bytes]], requests: int
) -> float:
    import time

    best = float("inf")
    for round_ in range(5):
        scopes = [
            http_scope("POST", "/api/v1/keyed", headers=[*json, (b"idempotency-key", key)])
            for key in (f"fresh-{round_}-{i}".encode() for i in range(requests))
        ]
        started = time.perf_counter()
        for scope in scopes:
            assert await call(app, scope, body) == 201
        best = min(best, (time.perf_counter() - started) / requests * 1e6)
    return best


def main() -> None:
    asyncio.run(_run())


if __name__ == "__main__":
    main()
