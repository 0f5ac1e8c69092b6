"""Argon2 capacity: a bounded queue, one hash per client at a time, budgets from the hash rate."""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from bastion.auth import AuthThrottle, Budget
from bastion.security import QUEUE_SECONDS, PasswordHasher
from tests.auth.conftest import AppFactory, login, register
from tests.auth.helpers import WRONG, from_ip
from tests.conftest import serve


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Hold every verification in its worker thread until the test opens the gate."""
    opened = threading.Event()
    original = PasswordHasher._verify_sync

    def held(self: PasswordHasher, password_hash: str, password: str) -> bool:
        opened.wait(timeout=60)
        return original(self, password_hash, password)

    monkeypatch.setattr(PasswordHasher, "_verify_sync", held)
    yield opened
    opened.set()


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(3000):  # at most 30 s
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


async def test_a_full_hashing_queue_and_a_busy_client_are_refused_at_once(
    make_app: AppFactory, gate: threading.Event
) -> None:
    built = make_app(password_hash_concurrency=1, password_hash_queue=1)
    app = built.app
    async with serve(app) as client:
        await register(client)
        await register(client, "bob@example.com")
        hasher = app.state.resources.auth.hasher
        async with (
            from_ip(app, "203.0.113.1") as first,
            from_ip(app, "203.0.113.2") as second,
            from_ip(app, "203.0.113.3") as third,
        ):
            running = asyncio.create_task(login(first))
            queued = asyncio.create_task(login(second, "bob@example.com"))
            await _until(lambda: hasher.pending == 2)  # one hashing, one waiting
            busy = await asyncio.wait_for(login(first, password=WRONG), timeout=30)
            full = await asyncio.wait_for(login(third), timeout=30)
            gate.set()
            served = await asyncio.gather(running, queued)
    assert busy.status_code == 429  # that client already has a hash under way
    assert busy.json()["error"]["code"] == "RATE_LIMITED"
    assert int(busy.headers["retry-after"]) >= 1
    # Its headers name what refused it, not a budget with hits left.
    assert busy.headers["ratelimit-remaining"] == "0"
    assert busy.headers["ratelimit-reset"] == busy.headers["retry-after"]
    assert busy.headers["ratelimit-policy"] == '"hash-in-flight";q=1;w=1'
    assert full.status_code == 503  # the queue is full: refused now, not timed out later
    assert full.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert int(full.headers["retry-after"]) >= 1
    assert [r.status_code for r in served] == [200, 200]


async def test_password_hashes_count_in_the_clients_hashing_budget(make_app: AppFactory) -> None:
    built = make_app(auth_hash_limit="3/minute")
    async with serve(built.app) as client:
        await register(client)  # one hash
        statuses = [
            (await login(client)).status_code,
            (await login(client, password=WRONG)).status_code,
        ]
        refused = await login(client)
        async with from_ip(built.app, "203.0.113.9") as other:
            elsewhere = await login(other)
    assert statuses == [200, 401]
    assert refused.status_code == 429
    assert refused.headers["ratelimit-policy"] == '"hash";q=3;w=60'
    assert refused.headers["ratelimit-reset"] == refused.headers["retry-after"]
    assert elsewhere.status_code == 200


async def test_the_default_hashing_budget_and_queue_are_sized_from_the_measured_hash_rate(
    make_app: AppFactory,
) -> None:
    built = make_app()
    async with serve(built.app) as client:
        await register(client)
        resources = built.app.state.resources
        runtime = resources.auth
        rate = runtime.hasher.rate  # measured once, when the lifespan warmed the hasher up
        budget = AuthThrottle(resources.limiter, runtime).hashing("203.0.113.1")
    assert built.settings.auth_hash_limit is None
    assert built.settings.password_hash_queue is None
    assert rate is not None
    assert rate > 0
    assert budget is not None
    assert budget.limit == f"{max(10, int(rate * 30))}/minute"  # half the capacity per client
    # Sized from this process's capacity, it is this process's count: its key names the
    # process, so processes that measured alike do not share it by chance.
    assert budget.key[:2] == ("hash", "203.0.113.1")
    assert len(budget.key) == 3
    set_limit = AuthThrottle(resources.limiter, replace(runtime, hash_limit="9/minute"))
    assert set_limit.hashing("203.0.113.1") == Budget("9/minute", ("hash", "203.0.113.1"), "hash")
    assert runtime.hasher.queue_limit == max(
        runtime.hasher.concurrency, math.ceil(QUEUE_SECONDS * rate)
    )
