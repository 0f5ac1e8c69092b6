"""In flight, expiry, pruning and the race of two app instances on one PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select, update
from sqlalchemy.engine import make_url

from bastion.core import BastionSettings
from bastion.db import create_engine, utcnow
from bastion.idempotency import IdempotencyRecord, prune_idempotency_records
from tests.conftest import serve
from tests.db.conftest import temporary_database
from tests.edge import TcpProxy, proxied_redis
from tests.idempotency.app import Item, idempotent_app

KEY = {"Idempotency-Key": "in-flight-key"}


def _code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


async def test_a_duplicate_while_the_first_is_in_flight_is_409_with_retry_after(
    app_settings: BastionSettings,
) -> None:
    gate, entered = asyncio.Event(), asyncio.Event()
    async with serve(idempotent_app(app_settings, gate=gate, entered=entered)) as client:
        first = asyncio.create_task(
            client.post("/api/v1/items/gated", json={"name": "a"}, headers=KEY)
        )
        await entered.wait()
        duplicate = await client.post("/api/v1/items/gated", json={"name": "a"}, headers=KEY)
        gate.set()
        done = await first
        after = await client.post("/api/v1/items/gated", json={"name": "a"}, headers=KEY)
        count = (await client.get("/api/v1/items")).json()["count"]
    assert duplicate.status_code == 409
    assert _code(duplicate) == "IDEMPOTENCY_KEY_IN_USE"
    assert int(duplicate.headers["retry-after"]) >= 1
    assert done.status_code == 201
    assert after.headers["idempotent-replayed"] == "true"
    assert after.content == done.content
    assert count == 1


async def test_an_expired_record_is_not_replayed(app_settings: BastionSettings) -> None:
    app = idempotent_app(app_settings)
    async with serve(app) as client:
        first = await client.post("/api/v1/items", json={"name": "a"}, headers=KEY)
        engine = app.state.resources.engine
        async with engine.begin() as connection:
            await connection.execute(
                update(IdempotencyRecord).values(expires_at=utcnow() - timedelta(seconds=1))
            )
        again = await client.post("/api/v1/items", json={"name": "a"}, headers=KEY)
        third = await client.post("/api/v1/items", json={"name": "a"}, headers=KEY)
    assert "idempotent-replayed" not in again.headers
    assert again.json()["id"] != first.json()["id"]
    assert third.headers["idempotent-replayed"] == "true"
    assert third.json() == again.json()


async def test_records_live_for_the_configured_ttl(app_settings: BastionSettings) -> None:
    settings = app_settings.model_copy(update={"idempotency_ttl": 3600})
    app = idempotent_app(settings)
    async with serve(app) as client:
        before = utcnow()
        await client.post("/api/v1/items", json={"name": "a"}, headers=KEY)
        engine = app.state.resources.engine
        async with engine.connect() as connection:
            expires_at = await connection.scalar(select(IdempotencyRecord.expires_at))
    assert expires_at is not None
    assert timedelta(seconds=3599) <= expires_at - before <= timedelta(seconds=3700)


async def test_prune_deletes_only_expired_records(app_settings: BastionSettings) -> None:
    app = idempotent_app(app_settings)
    async with serve(app) as client:
        for key in ("one", "two"):
            await client.post("/api/v1/items", json={"name": key}, headers={"Idempotency-Key": key})
        engine = app.state.resources.engine
        assert await prune_idempotency_records(engine) == 0
        later = utcnow() + timedelta(seconds=app_settings.idempotency_ttl + 1)
        assert await prune_idempotency_records(engine, now=later) == 2
        async with engine.connect() as connection:
            left = await connection.scalar(select(func.count()).select_from(IdempotencyRecord))
    assert left == 0


@pytest.mark.postgres
async def test_twenty_concurrent_requests_on_two_instances_write_once(
    settings: BastionSettings, postgres_url: str, tmp_path: Path
) -> None:
    async with temporary_database("postgres", settings, tmp_path, postgres_url) as db:
        db = db.model_copy(update={"ratelimit_default": None})
        # Two apps, two engines and two in-process lock stores: only the database is shared.
        one, two = idempotent_app(db), idempotent_app(db)
        async with serve(one) as first, serve(two) as second:
            clients = [first, second] * 10
            answers = await asyncio.gather(
                *(
                    client.post("/api/v1/items", json={"name": "race"}, headers=KEY)
                    for client in clients
                )
            )
            engine = create_engine(db)
            try:
                async with engine.connect() as connection:
                    written = await connection.scalar(select(func.count()).select_from(Item))
            finally:
                await engine.dispose()
    assert written == 1
    created = [
        a for a in answers if a.status_code == 201 and "idempotent-replayed" not in a.headers
    ]
    assert len(created) == 1
    for answer in answers:
        if answer is created[0]:
            continue
        if answer.status_code == 409:
            assert _code(answer) == "IDEMPOTENCY_KEY_IN_USE"
            assert "retry-after" in answer.headers
        else:
            assert answer.headers["idempotent-replayed"] == "true", answer.text
            assert answer.content == created[0].content


@pytest.mark.postgres
async def test_a_database_outage_is_503_and_the_key_stays_usable(
    settings: BastionSettings, postgres_url: str, tmp_path: Path
) -> None:
    real = make_url(postgres_url)
    proxy = TcpProxy(real.host or "127.0.0.1", real.port or 5432)
    await proxy.start()
    async with temporary_database("postgres", settings, tmp_path, postgres_url) as db:
        proxied = real.set(host="127.0.0.1", port=proxy.port)
        app_settings = db.model_copy(
            update={
                "ratelimit_default": None,
                "database_url": type(db.database_url)(
                    proxied.render_as_string(hide_password=False)
                ),
            }
        )
        try:
            async with serve(idempotent_app(app_settings)) as client:
                await proxy.stop()
                during = await client.post("/api/v1/items", json={"name": "a"}, headers=KEY)
                await proxy.start()
                after = await client.post("/api/v1/items", json={"name": "a"}, headers=KEY)
        finally:
            await proxy.stop()
    assert during.status_code == 503
    assert _code(during) == "DATABASE_UNAVAILABLE"
    assert "retry-after" in during.headers
    assert after.status_code == 201
    assert "idempotent-replayed" not in after.headers


@pytest.mark.redis
async def test_with_redis_the_in_flight_lock_spans_app_instances(
    app_settings: BastionSettings, redis_url: str
) -> None:
    shared = app_settings.model_copy(update={"redis_url": SecretStr(redis_url)})
    gate, entered = asyncio.Event(), asyncio.Event()
    key = {"Idempotency-Key": f"spanning-{uuid.uuid4().hex}"}
    one = idempotent_app(shared, gate=gate, entered=entered)
    async with serve(one) as first_client, serve(idempotent_app(shared)) as second_client:
        first = asyncio.create_task(
            first_client.post("/api/v1/items/gated", json={"name": "a"}, headers=key)
        )
        await entered.wait()
        duplicate = await second_client.post("/api/v1/items/gated", json={"name": "a"}, headers=key)
        gate.set()
        done = await first
    assert _code(duplicate) == "IDEMPOTENCY_KEY_IN_USE"
    assert done.status_code == 201


@pytest.mark.redis
async def test_keyed_requests_racing_to_a_redis_that_stops_answering_are_served_unlocked(
    app_settings: BastionSettings, redis_url: str
) -> None:
    proxy, proxied_url = await proxied_redis(redis_url)
    settings = app_settings.model_copy(
        update={
            "redis_url": SecretStr(proxied_url),
            "redis_socket_timeout": 0.2,
            # Far above the lock's give-up (a socket timeout and one retry): only a request
            # held by the stalled Redis would spend it. Eight writers queue on SQLite's
            # write lock, which on a loaded machine took more than 2 s.
            "request_timeout": 10.0,
        }
    )
    try:
        async with serve(idempotent_app(settings)) as client:
            warm = await client.post(
                "/api/v1/items", json={"name": "a"}, headers={"Idempotency-Key": uuid.uuid4().hex}
            )
            proxy.stall()  # accepts connections, answers nothing, old ones included
            racing = await asyncio.gather(
                *(
                    client.post(
                        "/api/v1/items",
                        json={"name": "a"},
                        headers={"Idempotency-Key": uuid.uuid4().hex},
                    )
                    for _ in range(8)
                )
            )
    finally:
        await proxy.stop()
    assert warm.status_code == 201
    # The lock is a convenience: without it the record still keeps each write single.
    assert [r.status_code for r in racing] == [201] * 8
