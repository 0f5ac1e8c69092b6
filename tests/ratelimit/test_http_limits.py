"""Rate limits over HTTP: counts and headers, keys, proxies, shared budgets, outages."""

from __future__ import annotations

import asyncio
import math
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import APIRouter, Depends, Request
from starlette.authentication import SimpleUser, UnauthenticatedUser

from bastion.errors import UnauthenticatedError
from bastion.ratelimit import RateLimit, RateLimiter, limited_router
from tests.edge import (
    TcpProxy,
    clear_redis_keys,
    edge_app,
    edge_settings,
    proxied_redis,
    serve_as,
)


def _assert_headers(response: httpx.Response, limit: int, remaining: int, name: str) -> int:
    headers = response.headers
    assert headers["ratelimit-limit"] == str(limit)
    assert headers["ratelimit-remaining"] == str(remaining)
    reset = int(headers["ratelimit-reset"])
    assert 0 < reset <= 60
    assert headers["ratelimit-policy"] == f'"{name}";q={limit};w=60'
    assert headers["ratelimit"] == f'"{name}";r={remaining};t={reset}'
    return reset


async def test_the_global_limit_counts_exactly_and_reports_every_response(
    backend: dict[str, object],
) -> None:
    settings = edge_settings(ratelimit_default="3/minute", **backend)
    async with serve_as(edge_app(settings)) as client:
        responses = [await client.get("/api/v1/items") for _ in range(4)]
        missing = await client.get("/api/v1/missing")
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    for response, remaining in zip(responses, [2, 1, 0, 0], strict=True):
        _assert_headers(response, 3, remaining, "global")
    rejected = responses[-1]
    assert rejected.json()["error"]["code"] == "RATE_LIMITED"
    assert rejected.headers["retry-after"] == rejected.headers["ratelimit-reset"]
    assert rejected.json()["error"]["details"]["retry_after"] == int(
        rejected.headers["retry-after"]
    )
    assert missing.status_code == 429  # unknown paths spend the same budget


@pytest.mark.parametrize(
    ("mode", "present", "absent"),
    [
        ("legacy", "ratelimit-limit", "ratelimit-policy"),
        ("draft", "ratelimit-policy", "ratelimit-limit"),
        ("none", None, "ratelimit-limit"),
    ],
)
async def test_either_header_form_can_be_turned_off(
    mode: str, present: str | None, absent: str
) -> None:
    settings = edge_settings(ratelimit_default="3/minute", ratelimit_headers=mode)
    async with serve_as(edge_app(settings)) as client:
        response = await client.get("/api/v1/items")
    if present:
        assert present in response.headers
    assert absent not in response.headers
    assert "ratelimit-policy" not in response.headers or mode == "draft"


async def test_exempt_paths_are_never_counted() -> None:
    settings = edge_settings(ratelimit_default="1/minute")
    async with serve_as(edge_app(settings)) as client:
        probes = [await client.get("/health") for _ in range(3)]
        first = await client.get("/api/v1/items")
    assert [p.status_code for p in probes] == [200, 200, 200]
    assert "ratelimit-limit" not in probes[0].headers
    assert first.status_code == 200


async def test_without_a_global_limit_only_route_limits_apply() -> None:
    router = APIRouter()

    @router.get("/limited", dependencies=[Depends(RateLimit("1/minute"))])
    async def limited() -> dict[str, bool]:
        return {"ok": True}

    settings = edge_settings(ratelimit_default=None)
    async with serve_as(edge_app(settings, router)) as client:
        free = [await client.get("/api/v1/items") for _ in range(3)]
        limited_responses = [await client.get("/api/v1/limited") for _ in range(2)]
    assert all(r.status_code == 200 and "ratelimit-limit" not in r.headers for r in free)
    assert [r.status_code for r in limited_responses] == [200, 429]
    _assert_headers(limited_responses[1], 1, 0, "route")


async def test_a_router_from_a_factory_gets_a_stricter_shared_limit_without_forking(
    backend: dict[str, object],
) -> None:
    def auth_router() -> APIRouter:  # stands for a factory the host cannot edit
        router = APIRouter(prefix="/auth")

        @router.post("/login")
        async def login() -> dict[str, bool]:
            return {"ok": True}

        @router.post("/register")
        async def register() -> dict[str, bool]:
            return {"ok": True}

        return router

    strict = limited_router(auth_router(), RateLimit("2/minute", name="auth"))
    settings = edge_settings(ratelimit_default="100/minute", **backend)
    async with serve_as(edge_app(settings, strict)) as client:
        login = await client.post("/api/v1/auth/login")
        register = await client.post("/api/v1/auth/register")
        third = await client.post("/api/v1/auth/login")
        other = await client.get("/api/v1/items")
    assert [login.status_code, register.status_code, third.status_code] == [200, 200, 429]
    _assert_headers(login, 2, 1, "auth")  # the tightest limit is the one reported
    _assert_headers(third, 2, 0, "auth")
    assert third.headers["retry-after"] == third.headers["ratelimit-reset"]
    _assert_headers(other, 100, 96, "global")


async def test_keys_can_be_the_user_or_anything_custom() -> None:
    router = APIRouter()

    async def authenticate(request: Request) -> None:  # a host's own authentication
        user = request.headers.get("x-user")
        if user is None:
            raise UnauthenticatedError()
        request.state.user_id = user

    async def by_tenant(request: Request) -> str | None:
        return request.headers.get("x-tenant")

    @router.get(
        "/mine",
        dependencies=[Depends(authenticate), Depends(RateLimit("1/minute", per="user"))],
    )
    async def mine() -> dict[str, bool]:
        return {"ok": True}

    @router.get("/tenant", dependencies=[Depends(RateLimit("1/minute", per=by_tenant))])
    async def tenant() -> dict[str, bool]:
        return {"ok": True}

    async with serve_as(edge_app(edge_settings(), router)) as client:
        alice = [await client.get("/api/v1/mine", headers={"x-user": "alice"}) for _ in range(2)]
        bob = await client.get("/api/v1/mine", headers={"x-user": "bob"})
        anonymous = await client.get("/api/v1/mine")
        tenants = [await client.get("/api/v1/tenant", headers={"x-tenant": "t1"}) for _ in range(2)]
        untracked = [await client.get("/api/v1/tenant") for _ in range(2)]
    assert [r.status_code for r in alice] == [200, 429]
    assert bob.status_code == 200
    assert anonymous.status_code == 401
    assert [r.status_code for r in tenants] == [200, 429]
    assert [r.status_code for r in untracked] == [200, 200]  # a None key is not counted


def test_a_limit_per_anyone_else_is_refused_when_built() -> None:
    with pytest.raises(ValueError, match="per='tenant'"):
        RateLimit("1/minute", per="tenant")  # type: ignore[arg-type]  # the point


async def test_a_user_limit_that_cannot_name_the_user_fails_loudly_never_by_ip(
    caplog: pytest.LogCaptureFixture,
) -> None:
    router = APIRouter()

    @router.get("/export", dependencies=[Depends(RateLimit("5/minute", per="user"))])
    async def export() -> dict[str, bool]:
        return {"ok": True}

    async with serve_as(edge_app(edge_settings(), router)) as client:
        response = await client.get("/api/v1/export")
    assert response.status_code == 500
    assert 'RateLimit(per="user") found no authenticated user' in caplog.text


async def test_a_rotating_forwarded_header_from_an_untrusted_peer_changes_nothing(
    backend: dict[str, object],
) -> None:
    settings = edge_settings(
        ratelimit_default="2/minute", trusted_proxies=["10.0.0.0/8"], **backend
    )
    app = edge_app(settings)
    async with serve_as(app, peer="203.0.113.50") as attacker:
        spoofed = [
            await attacker.get("/api/v1/items", headers={"X-Forwarded-For": f"192.0.2.{i}"})
            for i in range(3)
        ]
    async with serve_as(app, peer="10.0.0.2", lifespan=False) as proxy:
        # The forged addresses were never charged: a real client there still has budget.
        victim = await proxy.get("/api/v1/items", headers={"X-Forwarded-For": "192.0.2.1"})
    assert [r.status_code for r in spoofed] == [200, 200, 429]
    assert victim.status_code == 200


async def test_a_trusted_proxys_forwarded_client_gets_its_own_bucket(
    backend: dict[str, object],
) -> None:
    settings = edge_settings(
        ratelimit_default="1/minute", trusted_proxies=["10.0.0.0/8"], **backend
    )
    async with serve_as(edge_app(settings), peer="10.0.0.2") as proxy:
        first = await proxy.get("/api/v1/items", headers={"X-Forwarded-For": "198.51.100.1"})
        second = await proxy.get("/api/v1/items", headers={"X-Forwarded-For": "198.51.100.2"})
        again = await proxy.get("/api/v1/items", headers={"X-Forwarded-For": "198.51.100.1"})
    assert [first.status_code, second.status_code, again.status_code] == [200, 200, 429]


@pytest.mark.redis
async def test_two_app_instances_on_one_redis_enforce_one_budget(redis_url: str) -> None:
    settings = edge_settings(ratelimit_default="4/minute", redis_url=redis_url)
    try:
        async with (
            serve_as(edge_app(settings)) as worker_a,
            serve_as(edge_app(settings)) as worker_b,
        ):
            statuses = []
            for i in range(6):
                client = worker_a if i % 2 == 0 else worker_b
                statuses.append((await client.get("/api/v1/items")).status_code)
    finally:
        await clear_redis_keys(redis_url, settings.ratelimit_key_prefix)
    assert statuses == [200, 200, 200, 200, 429, 429]


@pytest.mark.redis
@pytest.mark.parametrize("fail_open", [True, False])
async def test_a_redis_outage_follows_the_policy_and_recovers(
    redis_url: str, fail_open: bool
) -> None:
    target = urlsplit(redis_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 6379)
    await proxy.start()
    url = f"redis://127.0.0.1:{proxy.port}{target.path}"
    settings = edge_settings(
        ratelimit_default="3/minute",
        redis_url=url,
        ratelimit_fail_open=fail_open,
        ratelimit_outage_cooldown=0,  # ask Redis on every request: recovery is immediate
        redis_socket_timeout=0.5,
    )
    app = edge_app(settings)
    try:
        async with serve_as(app) as client:
            before = await client.get("/api/v1/items")
            await proxy.stop()
            during = [await client.get("/api/v1/items") for _ in range(3)]
            health = await client.get("/health")
            await proxy.start()
            after = [await client.get("/api/v1/items") for _ in range(3)]
            limiter: RateLimiter = app.state.resources.limiter
    finally:
        await proxy.stop()
        await clear_redis_keys(redis_url, settings.ratelimit_key_prefix)
    assert before.status_code == 200
    assert health.status_code == 200
    assert limiter.storage_errors >= 3
    # Nothing was counted: no `RateLimit-*` header claims a budget (a full one, say).
    for response in during:
        assert not [name for name in response.headers if name.startswith("ratelimit")]
    if fail_open:
        assert [r.status_code for r in during] == [200, 200, 200]
    else:
        assert [r.status_code for r in during] == [503, 503, 503]
        assert during[0].json()["error"]["code"] == "SERVICE_UNAVAILABLE"
        assert during[0].headers["x-request-id"]
    # Redis is back: counting resumes where it stood (1 hit before the outage).
    assert [r.status_code for r in after] == [200, 200, 429]
    assert math.isclose(int(after[0].headers["ratelimit-remaining"]), 1)


@pytest.mark.redis
async def test_a_redis_that_stops_answering_costs_each_request_one_socket_timeout_at_most(
    redis_url: str,
) -> None:
    # Redis accepts connections and answers nothing, on the pooled connections too.
    # Requests racing to it must not queue behind each other's reconnects until the
    # request timeout: each gets the outage policy within about one socket timeout,
    # and while one request probes whether Redis is back, the others do not wait.
    proxy, proxied_url = await proxied_redis(redis_url)
    settings = edge_settings(
        ratelimit_default="1000/minute",
        redis_url=proxied_url,
        redis_socket_timeout=0.2,
        request_timeout=2,
    )
    app = edge_app(settings)
    try:
        async with serve_as(app) as client:
            warm = await asyncio.gather(*(client.get("/api/v1/items") for _ in range(4)))
            proxy.stall()
            stalled = await asyncio.gather(*(client.get("/api/v1/items") for _ in range(12)))
            later = await asyncio.gather(*(client.get("/api/v1/items") for _ in range(12)))
    finally:
        await proxy.stop()
        await clear_redis_keys(redis_url, settings.ratelimit_key_prefix)
    assert [r.status_code for r in warm] == [200] * 4
    # Served (the global limit fails open), none held until the 504 of the time budget.
    assert [r.status_code for r in stalled] == [200] * 12
    assert [r.status_code for r in later] == [200] * 12


class NamedUser(SimpleUser):
    """Starlette's `SimpleUser` with an `identity`, which Starlette gives it only from 1.8."""

    @property
    def identity(self) -> str:
        return self.username


async def test_a_user_limit_reads_starlettes_authenticated_user() -> None:
    router = APIRouter()

    async def starlette_auth(request: Request) -> None:  # as AuthenticationMiddleware does
        user = request.headers.get("x-user")
        request.scope["user"] = NamedUser(user) if user else UnauthenticatedUser()

    @router.get(
        "/mine",
        dependencies=[Depends(starlette_auth), Depends(RateLimit("1/minute", per="user"))],
    )
    async def mine() -> dict[str, bool]:
        return {"ok": True}

    async with serve_as(edge_app(edge_settings(), router)) as client:
        carol = [await client.get("/api/v1/mine", headers={"x-user": "carol"}) for _ in range(2)]
        dave = await client.get("/api/v1/mine", headers={"x-user": "dave"})
        anonymous = await client.get("/api/v1/mine")
    assert [r.status_code for r in carol] == [200, 429]
    assert dave.status_code == 200
    assert anonymous.status_code == 401


def _renamed_router(handler_name: str) -> APIRouter:
    """`GET /things/{thing_id}` limited to 3 a minute, its handler called `handler_name`."""
    router = APIRouter(dependencies=[Depends(RateLimit("3/minute"))])

    async def handler(thing_id: int) -> dict[str, int]:
        return {"id": thing_id}

    handler.__name__ = handler.__qualname__ = handler_name
    router.add_api_route("/things/{thing_id}", handler, methods=["GET"])
    return router


@pytest.mark.redis
async def test_a_route_keeps_its_budget_when_its_handler_is_renamed(redis_url: str) -> None:
    settings = edge_settings(redis_url=redis_url)
    try:
        async with (
            serve_as(edge_app(settings, _renamed_router("read_thing"))) as before,
            serve_as(edge_app(settings, _renamed_router("get_thing_v2"))) as after,
        ):
            statuses = [(await before.get(f"/api/v1/things/{i}")).status_code for i in range(2)]
            statuses += [(await after.get(f"/api/v1/things/{i}")).status_code for i in range(2)]
            other_method = await after.delete("/api/v1/things/1")
    finally:
        await clear_redis_keys(redis_url, settings.ratelimit_key_prefix)
    # One budget per method and path template: every thing id and both handler names share it.
    assert statuses == [200, 200, 200, 429]
    assert other_method.status_code == 405


async def test_each_route_template_and_method_has_its_own_budget() -> None:
    router = APIRouter(dependencies=[Depends(RateLimit("1/minute"))])

    async def read(thing_id: int) -> dict[str, int]:
        return {"id": thing_id}

    router.add_api_route("/things/{thing_id}", read, methods=["GET"])
    router.add_api_route("/things/{thing_id}", read, methods=["PUT"])
    router.add_api_route("/others/{thing_id}", read, methods=["GET"])
    async with serve_as(edge_app(edge_settings(), router)) as client:
        first = [
            (await client.request(method, f"/api/v1/{path}/1")).status_code
            for method, path in (("GET", "things"), ("PUT", "things"), ("GET", "others"))
        ]
        again = (await client.get("/api/v1/things/2")).status_code
    assert (first, again) == ([200, 200, 200], 429)


async def test_an_empty_global_limit_in_the_environment_turns_it_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BASTION_RATELIMIT_DEFAULT", "")
    async with serve_as(edge_app(edge_settings())) as client:
        answers = [await client.get("/api/v1/items") for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 200]
    assert not any("ratelimit-limit" in r.headers for r in answers)
