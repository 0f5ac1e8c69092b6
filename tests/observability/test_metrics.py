"""`/metrics`: request counts and latency by route template, in-flight, errors by code, access."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    enable_created_metrics,
)
from prometheus_client.exposition import choose_encoder
from pydantic import ValidationError

from bastion.core import BastionSettings
from bastion.observability import LATENCY_BUCKETS, HttpMetrics, ObservabilityMiddleware
from tests.conftest import serve
from tests.edge import TcpProxy, clear_redis_keys
from tests.observability.metrics_helpers import notes_app, obs_settings, scrape, value

TOKEN = "m" * 40


async def test_requests_are_counted_by_route_template_method_and_status() -> None:
    async with serve(notes_app()) as client:
        for note_id in (1, 2, 3):
            assert (await client.get(f"/api/v1/notes/{note_id}")).status_code == 200
        assert (await client.get("/api/v1/notes/0")).status_code == 404
        assert (await client.post("/api/v1/notes", json={"title": "t"})).status_code == 201
        text = await scrape(client)
    route = "/api/v1/notes/{note_id}"
    assert value(text, "http_requests_total", route=route, method="GET", status="200") == 3
    assert value(text, "http_requests_total", route=route, method="GET", status="404") == 1
    assert (
        value(text, "http_requests_total", route="/api/v1/notes", method="POST", status="201") == 1
    )
    count = value(
        text, "http_request_duration_seconds_count", route=route, method="GET", status="200"
    )
    assert count == 3
    assert (
        value(text, "http_request_duration_seconds_sum", route=route, method="GET", status="200")
        > 0
    )
    # Never the raw path.
    assert "/api/v1/notes/1" not in text


async def test_unmatched_paths_share_one_route_value_and_unknown_methods_one_method_value() -> None:
    async with serve(notes_app()) as client:
        for path in ("/nope", "/other/42", "/api/v1/secret-user@example.com"):
            assert (await client.get(path)).status_code == 404
        assert (await client.request("BREW", "/api/v1/notes/1")).status_code == 405
        text = await scrape(client)
    assert value(text, "http_requests_total", route="<unmatched>", method="GET", status="404") == 3
    assert "example.com" not in text
    assert "/other/42" not in text
    assert "BREW" not in text
    other = {"route": "/api/v1/notes/{note_id}", "method": "_OTHER", "status": "405"}
    assert value(text, "http_requests_total", **other) == 1


async def test_metrics_are_left_out_of_their_own_counts() -> None:
    async with serve(notes_app()) as client:
        await scrape(client)
        await scrape(client)
        text = await scrape(client)
    assert "/metrics" not in text
    assert value(text, "http_requests_in_flight") == 0


@pytest.mark.parametrize(
    ("request_args", "code", "status"),
    [
        (("GET", "/api/v1/notes/0"), "NOT_FOUND", "404"),
        (("GET", "/api/v1/notes/abc"), "VALIDATION_ERROR", "422"),
        (("GET", "/api/v1/crash"), "INTERNAL_ERROR", "500"),
    ],
)
async def test_errors_are_counted_by_the_code_their_envelope_carries(
    request_args: tuple[str, str], code: str, status: str
) -> None:
    async with serve(notes_app()) as client:
        response = await client.request(*request_args)
        assert response.status_code == int(status)
        assert response.json()["error"]["code"] == code
        text = await scrape(client)
    assert (
        value(text, "http_errors_total", route="/api/v1/notes/{note_id}", code=code)
        + value(text, "http_errors_total", route="/api/v1/crash", code=code)
        == 1
    )


async def test_refusals_of_the_edge_are_counted_with_their_code() -> None:
    settings = obs_settings(ratelimit_default="2/minute", body_limit=16)
    async with serve(notes_app(settings)) as client:
        big = await client.post("/api/v1/notes", json={"title": "x" * 64})
        assert big.status_code == 413
        statuses = [(await client.get("/api/v1/notes/1")).status_code for _ in range(3)]
        assert statuses[-1] == 429
        text = await scrape(client)
    route = "/api/v1/notes/{note_id}"
    assert value(text, "http_errors_total", route="<unmatched>", code="PAYLOAD_TOO_LARGE") == 1
    # A refused request never reaches the router: its route is the unmatched value.
    assert value(text, "http_errors_total", route="<unmatched>", code="RATE_LIMITED") >= 1
    assert value(text, "http_requests_total", route=route, method="GET", status="200") >= 1


async def test_metrics_are_exempt_from_the_rate_limit() -> None:
    async with serve(notes_app(obs_settings(ratelimit_default="2/minute"))) as client:
        for _ in range(6):
            await scrape(client)


async def test_the_in_flight_gauge_counts_requests_being_served() -> None:
    gate = asyncio.Event()
    async with serve(notes_app(gate=gate)) as client:
        waiting = [asyncio.create_task(client.get("/api/v1/wait")) for _ in range(2)]
        for _ in range(200):  # bounded: the two requests reach the route
            if value(await scrape(client), "http_requests_in_flight") == 2:
                break
            await asyncio.sleep(0.01)
        assert value(await scrape(client), "http_requests_in_flight") == 2
        gate.set()
        assert [(await task).status_code for task in waiting] == [200, 200]
        assert value(await scrape(client), "http_requests_in_flight") == 0


async def test_openmetrics_is_served_when_the_accept_header_asks_for_it() -> None:
    async with serve(notes_app()) as client:
        await client.get("/api/v1/notes/1")
        plain = await client.get("/metrics")
        open_metrics = await client.get(
            "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
        )
    assert plain.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert open_metrics.headers["content-type"].startswith("application/openmetrics-text")
    assert open_metrics.text.rstrip().endswith("# EOF")
    assert "# EOF" not in plain.text
    # The scrape carries the edge's headers like any response.
    assert plain.headers["x-request-id"]
    assert plain.headers["cache-control"] == "no-store"


async def test_each_app_has_its_own_registry() -> None:
    first, second = notes_app(), notes_app()
    async with serve(first) as one, serve(second) as two:
        await one.get("/api/v1/notes/1")
        await one.get("/api/v1/notes/1")
        await two.get("/api/v1/notes/1")
        first_text, second_text = await scrape(one), await scrape(two)
    labels = {"route": "/api/v1/notes/{note_id}", "method": "GET", "status": "200"}
    assert value(first_text, "http_requests_total", **labels) == 2
    assert value(second_text, "http_requests_total", **labels) == 1


def _production(**overrides: object) -> BastionSettings:
    return obs_settings(
        environment="production",
        secret_key="p" * 40,
        database_url="sqlite+aiosqlite:///:memory:",
        **overrides,
    )


async def test_production_without_a_token_has_no_metrics_route() -> None:
    async with serve(notes_app(_production())) as client:
        response = await client.get("/metrics")
        unknown = await client.get("/no-such-path")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert response.json()["error"]["message"] == unknown.json()["error"]["message"]


@pytest.mark.parametrize("environment", ["production", "test"])
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer wrong-token-wrong-token-wrong-token-0",
        f"Basic {TOKEN}",
        "Bearer",
        f"bearer  {TOKEN[:-1]}",
    ],
)
async def test_a_configured_token_is_required_as_a_bearer_token(
    environment: str, authorization: str | None
) -> None:
    settings = (
        _production(metrics_token=TOKEN)
        if environment == "production"
        else obs_settings(metrics_token=TOKEN)
    )
    headers = {} if authorization is None else {"Authorization": authorization}
    async with serve(notes_app(settings)) as client:
        refused = await client.get("/metrics", headers=headers)
        accepted = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "NOT_AUTHENTICATED"
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert TOKEN not in refused.text
    assert accepted.status_code == 200
    assert accepted.text.startswith("# HELP")


@pytest.mark.parametrize("token", ["", "short", "x" * 31])
def test_a_weak_metrics_token_is_refused_when_the_settings_load(token: str) -> None:
    with pytest.raises(ValidationError, match="BASTION_METRICS_TOKEN must be") as refused:
        obs_settings(metrics_token=token)
    assert token not in str(refused.value) or not token


async def test_metrics_can_be_turned_off() -> None:
    async with serve(notes_app(obs_settings(metrics_enabled=False))) as client:
        assert (await client.get("/api/v1/notes/1")).status_code == 200
        assert (await client.get("/metrics")).status_code == 404


def test_a_metrics_dir_that_is_not_a_directory_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    with pytest.raises(ValueError, match="is not a directory"):
        notes_app(obs_settings(metrics_dir=missing))


def test_a_metrics_dir_is_refused_once_prometheus_client_chose_single_process_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # This test process imported prometheus_client without PROMETHEUS_MULTIPROC_DIR.
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    with pytest.raises(ValueError, match="before prometheus_client is first imported"):
        notes_app(obs_settings(metrics_dir=tmp_path))
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ


def test_a_metrics_dir_other_than_prometheus_multiproc_dir_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(other))
    with pytest.raises(ValueError, match="name different directories"):
        notes_app(obs_settings(metrics_dir=tmp_path))


@pytest.mark.redis
async def test_metrics_are_scraped_and_the_outage_counted_while_redis_is_down(
    redis_url: str,
) -> None:
    target = urlsplit(redis_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 6379)
    await proxy.start()
    settings = obs_settings(
        redis_url=f"redis://127.0.0.1:{proxy.port}{target.path}",
        ratelimit_default="100/minute",
        ratelimit_fail_open=False,
        ratelimit_outage_cooldown=0,
        ratelimit_key_prefix="bastion-test-metrics-outage",
        redis_socket_timeout=0.5,
    )
    try:
        async with serve(notes_app(settings)) as client:
            assert (await client.get("/api/v1/notes/1")).status_code == 200
            await proxy.stop()
            refused = await client.get("/api/v1/notes/1")
            text = await scrape(client)
    finally:
        await proxy.stop()
        await clear_redis_keys(redis_url, "bastion-test-metrics-outage")
    assert refused.status_code == 503
    assert refused.headers["retry-after"]
    assert value(text, "http_errors_total", route="<unmatched>", code="SERVICE_UNAVAILABLE") == 1
    assert value(text, "http_requests_total", route="<unmatched>", method="GET", status="503") == 1


def test_with_metrics_and_tracing_off_the_layer_is_not_installed() -> None:
    app = notes_app(obs_settings(metrics_enabled=False, tracing_enabled=False))
    assert ObservabilityMiddleware not in [m.cls for m in app.user_middleware]


def _prometheus_reference() -> tuple[CollectorRegistry, Counter, Histogram, Counter]:
    """prometheus-client's own metrics, declared as the documented contract declares them."""
    registry = CollectorRegistry(auto_describe=True)
    labels = ("route", "method", "status")
    requests = Counter("http_requests", "HTTP requests answered.", labels, registry=registry)
    duration = Histogram(
        "http_request_duration_seconds",
        "Time to answer an HTTP request, in seconds.",
        labels,
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    Gauge("http_requests_in_flight", "HTTP requests being served.", registry=registry).set(0)
    errors = Counter(
        "http_errors", "Error envelopes sent, by error code.", ("route", "code"), registry=registry
    )
    return registry, requests, duration, errors


def _without_timestamps(text: str) -> str:
    """`text` with the `_created` values and exemplar timestamps (wall-clock times) masked."""
    lines = [
        line.rpartition(" ")[0] if re.match(r"\w+_created\b", line) else line
        for line in text.splitlines()
    ]
    return re.sub(r"(# \{[^}]*\} \S+) \S+", r"\1", "\n".join(lines))


@pytest.fixture(params=[True, False], ids=["created", "no-created"])
def created_series(request: pytest.FixtureRequest) -> Iterator[None]:
    """prometheus-client writing `_created` samples (its default), or told not to."""
    if not request.param:
        disable_created_metrics()
    try:
        yield
    finally:
        enable_created_metrics()


@pytest.mark.usefixtures("created_series")
@pytest.mark.parametrize("accept", [None, "application/openmetrics-text; version=1.0.0"])
def test_the_exposition_is_prometheus_clients_own_for_the_same_requests(
    accept: str | None,
) -> None:
    metrics = HttpMetrics()
    registry, requests, duration, errors = _prometheus_reference()
    trace = "0af7651916cd43dd8448eb211c80319c"
    answered = [
        ("/api/v1/notes/{note_id}", "GET", 200, 0.0003, trace),
        ("/api/v1/notes/{note_id}", "GET", 200, 0.005, None),  # on a bound: that bucket
        ("/api/v1/notes/{note_id}", "GET", 200, 0.0051, trace),
        ("/api/v1/notes/{note_id}", "GET", 404, 30.0, None),
        ("/api/v1/notes", "POST", 201, 0.2, None),
        ("<unmatched>", "BREW", 405, 31.5, trace),  # past the last bound: +Inf
    ]
    for route, method, status, seconds, trace_id in answered:
        code = "NOT_FOUND" if status == 404 else None
        metrics.request_started()
        metrics.request_finished(route, method, status, seconds, code, trace_id)
        labels = (route, HttpMetrics.method_label(method), str(status))
        requests.labels(*labels).inc()
        exemplar = None if trace_id is None else {"trace_id": trace_id}
        duration.labels(*labels).observe(seconds, exemplar=exemplar)
        if code is not None:
            errors.labels(route, code).inc()
    encoder, _ = choose_encoder(accept or "")
    body, _ = metrics.exposition(accept)
    assert _without_timestamps(body.decode()) == _without_timestamps(encoder(registry).decode())


async def test_a_head_request_to_metrics_gets_the_scrape_headers_without_a_body() -> None:
    async with serve(notes_app()) as client:
        response = await client.head("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert response.content == b""
