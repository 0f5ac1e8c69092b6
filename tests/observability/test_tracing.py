"""Tracing: a server span per request, W3C context continued, child spans, ids in logs, exemplars."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi import APIRouter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import text

from bastion import create_app
from bastion.observability import HttpTracing, JsonFormatter
from bastion.web import AppResources
from tests.conftest import serve
from tests.edge import TcpProxy, clear_redis_keys
from tests.observability.metrics_helpers import (
    in_memory_tracing,
    notes_app,
    notes_router,
    obs_settings,
)

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


def _server_spans(spans: tuple[ReadableSpan, ...]) -> list[ReadableSpan]:
    return [span for span in spans if span.kind is SpanKind.SERVER]


def _children(spans: tuple[ReadableSpan, ...], parent: ReadableSpan) -> list[ReadableSpan]:
    assert parent.context is not None
    return [
        span
        for span in spans
        if span.parent is not None and span.parent.span_id == parent.context.span_id
    ]


async def test_each_request_is_a_server_span_named_by_method_and_route_template() -> None:
    provider, exporter = in_memory_tracing()
    async with serve(notes_app(tracer_provider=provider)) as client:
        response = await client.get("/api/v1/notes/5?q=1", headers={"User-Agent": "probe/1"})
    assert response.status_code == 200
    (span,) = _server_spans(exporter.get_finished_spans())
    assert span.name == "GET /api/v1/notes/{note_id}"
    attributes = dict(span.attributes or {})
    assert attributes["http.request.method"] == "GET"
    assert attributes["http.route"] == "/api/v1/notes/{note_id}"
    assert attributes["http.response.status_code"] == 200
    assert attributes["url.path"] == "/api/v1/notes/5"
    assert attributes["url.scheme"] == "http"
    assert attributes["user_agent.original"] == "probe/1"
    assert attributes["client.address"] == "127.0.0.1"
    assert span.status.status_code is StatusCode.UNSET
    assert span.parent is None
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == "bastion"


@pytest.mark.parametrize(
    ("trusted", "forwarded", "client"),
    [
        ([], "203.0.113.9", "127.0.0.1"),  # an untrusted peer's header changes nothing
        (["127.0.0.0/8"], "203.0.113.9", "203.0.113.9"),
        (["127.0.0.0/8"], "2001:DB8::0:1", "2001:db8::1"),
        (["127.0.0.0/8"], "<script>", "127.0.0.1"),  # a hop that is not an address
    ],
)
async def test_the_client_address_is_the_one_the_throttles_and_audit_log_use(
    trusted: list[str], forwarded: str, client: str
) -> None:
    # It was the socket peer: behind a proxy, every span named the proxy.
    provider, exporter = in_memory_tracing()
    app = notes_app(obs_settings(trusted_proxies=trusted), tracer_provider=provider)
    async with serve(app) as http:
        await http.get("/api/v1/notes/5", headers={"X-Forwarded-For": forwarded})
    (span,) = _server_spans(exporter.get_finished_spans())
    assert dict(span.attributes or {})["client.address"] == client


async def test_the_callers_w3c_trace_context_is_continued() -> None:
    provider, exporter = in_memory_tracing()
    async with serve(notes_app(tracer_provider=provider)) as client:
        await client.get("/api/v1/notes/5", headers={"traceparent": TRACEPARENT})
    (span,) = _server_spans(exporter.get_finished_spans())
    assert span.context is not None
    assert span.parent is not None
    assert f"{span.context.trace_id:032x}" == TRACE_ID
    assert f"{span.parent.span_id:016x}" == PARENT_ID
    assert span.parent.is_remote


@pytest.mark.parametrize("traceparent", ["garbage", f"00-{'0' * 32}-{PARENT_ID}-01", "00-zz"])
async def test_a_malformed_traceparent_starts_a_new_trace(traceparent: str) -> None:
    provider, exporter = in_memory_tracing()
    async with serve(notes_app(tracer_provider=provider)) as client:
        response = await client.get("/api/v1/notes/5", headers={"traceparent": traceparent})
    assert response.status_code == 200
    (span,) = _server_spans(exporter.get_finished_spans())
    assert span.parent is None
    assert span.context is not None
    assert span.context.trace_id != 0


async def test_a_server_error_marks_the_span_as_an_error_and_a_client_error_does_not() -> None:
    provider, exporter = in_memory_tracing()
    async with serve(notes_app(tracer_provider=provider)) as client:
        assert (await client.get("/api/v1/crash")).status_code == 500
        assert (await client.get("/api/v1/notes/0")).status_code == 404
    crash, missing = _server_spans(exporter.get_finished_spans())
    assert crash.name == "GET /api/v1/crash"
    assert crash.status.status_code is StatusCode.ERROR
    assert dict(crash.attributes or {})["error.type"] == "500"
    assert missing.status.status_code is StatusCode.UNSET
    assert "error.type" not in dict(missing.attributes or {})


async def test_an_unmatched_request_is_named_by_its_method_only() -> None:
    provider, exporter = in_memory_tracing()
    async with serve(notes_app(tracer_provider=provider)) as client:
        await client.get("/nowhere/42")
        await client.get("/metrics")
    (span,) = _server_spans(exporter.get_finished_spans())  # the scrape is not traced
    assert span.name == "GET"
    assert "http.route" not in dict(span.attributes or {})
    assert dict(span.attributes or {})["http.response.status_code"] == 404


async def test_database_statements_are_child_spans_of_the_request(postgres_url: str) -> None:
    for url in ("sqlite+aiosqlite:///:memory:", postgres_url):
        provider, exporter = in_memory_tracing()
        settings = obs_settings(database_url=url)
        app = notes_app(settings, tracer_provider=provider, database=True)
        async with serve(app) as client:
            assert (await client.get("/ready")).status_code == 200
        spans = exporter.get_finished_spans()
        (server,) = _server_spans(spans)
        (statement,) = _children(spans, server)
        assert statement.kind is SpanKind.CLIENT
        assert statement.name == "SELECT"
        attributes = dict(statement.attributes or {})
        assert attributes["db.system.name"] == url.split("+")[0]
        assert attributes["db.query.text"].upper().startswith("SELECT")
        assert attributes["db.operation.name"] == "SELECT"


async def test_a_failing_statement_ends_its_span_as_an_error() -> None:
    router = APIRouter()

    @router.get("/bad-sql")
    async def bad_sql(resources: AppResources) -> None:
        assert resources.engine is not None
        async with resources.engine.connect() as connection:
            await connection.execute(text("SELECT * FROM no_such_table"))

    provider, exporter = in_memory_tracing()
    app = create_app(obs_settings(), routers=[router], tracer_provider=provider, database=True)
    async with serve(app) as client:
        assert (await client.get("/api/v1/bad-sql")).status_code == 500
    spans = exporter.get_finished_spans()
    (server,) = _server_spans(spans)
    (statement,) = [span for span in _children(spans, server) if span.name == "SELECT"]
    assert statement.status.status_code is StatusCode.ERROR
    assert dict(statement.attributes or {})["error.type"] == "OperationalError"


async def test_statements_outside_a_traced_request_are_not_traced() -> None:
    provider, exporter = in_memory_tracing()
    app = notes_app(tracer_provider=provider, database=True)
    async with serve(app):
        engine = app.state.resources.engine
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    assert exporter.get_finished_spans() == ()


@pytest.mark.redis
async def test_redis_commands_are_child_spans_and_an_outage_is_an_error_span(
    redis_url: str,
) -> None:
    target = urlsplit(redis_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 6379)
    await proxy.start()
    settings = obs_settings(
        redis_url=f"redis://127.0.0.1:{proxy.port}{target.path}",
        ratelimit_key_prefix="bastion-test-tracing",
        redis_socket_timeout=0.5,
    )
    provider, exporter = in_memory_tracing()
    try:
        async with serve(notes_app(settings, tracer_provider=provider)) as client:
            assert (await client.get("/ready")).status_code == 200
            await proxy.stop()
            down = await client.get("/ready")
    finally:
        await proxy.stop()
        await clear_redis_keys(redis_url, "bastion-test-tracing")
    assert down.status_code == 503
    spans = exporter.get_finished_spans()
    ready, outage = _server_spans(spans)
    (ping,) = [span for span in _children(spans, ready) if span.name == "PING"]
    assert ping.kind is SpanKind.CLIENT
    assert dict(ping.attributes or {}) == {"db.system.name": "redis", "db.operation.name": "PING"}
    assert ping.status.status_code is StatusCode.UNSET
    (failed,) = [span for span in _children(spans, outage) if span.name == "PING"]
    assert failed.status.status_code is StatusCode.ERROR
    assert outage.status.status_code is StatusCode.ERROR  # a 503


async def test_log_lines_written_in_a_span_carry_its_trace_and_span_ids(
    caplog: pytest.LogCaptureFixture,
) -> None:
    router = APIRouter()
    logger = logging.getLogger("tests.tracing")

    @router.get("/logs")
    async def logs() -> dict[str, bool]:
        logger.warning("inside the request")
        return {"ok": True}

    provider, exporter = in_memory_tracing()
    app = create_app(obs_settings(), routers=[router], tracer_provider=provider)
    with caplog.at_level(logging.WARNING, logger="tests.tracing"):
        async with serve(app) as client:
            await client.get("/api/v1/logs", headers={"traceparent": TRACEPARENT})
        logger.warning("outside any request")
    inside, outside = (r for r in caplog.records if r.name == "tests.tracing")
    (span,) = _server_spans(exporter.get_finished_spans())
    assert span.context is not None
    line = json.loads(JsonFormatter().format(inside))
    assert line["trace_id"] == TRACE_ID
    assert line["span_id"] == f"{span.context.span_id:016x}"
    assert "trace_id" not in json.loads(JsonFormatter().format(outside))


async def test_the_latency_histogram_carries_the_trace_id_as_an_openmetrics_exemplar() -> None:
    provider, _ = in_memory_tracing()
    async with serve(notes_app(tracer_provider=provider)) as client:
        await client.get("/api/v1/notes/5", headers={"traceparent": TRACEPARENT})
        scrape = await client.get(
            "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
        )
    exemplars = [
        line
        for line in scrape.text.splitlines()
        if line.startswith("http_request_duration_seconds_bucket") and " # {" in line
    ]
    assert exemplars
    assert all(f'trace_id="{TRACE_ID}"' in line for line in exemplars)


async def test_without_an_sdk_nothing_is_traced_and_requests_are_served() -> None:
    # The global provider is the API's placeholder: the OpenTelemetry API alone.
    assert HttpTracing().tracer() is None
    async with serve(notes_app()) as client:
        response = await client.get("/api/v1/notes/5", headers={"traceparent": TRACEPARENT})
        scrape = await client.get(
            "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
        )
    assert response.status_code == 200
    assert "trace_id" not in scrape.text


async def test_tracing_can_be_turned_off() -> None:
    provider, exporter = in_memory_tracing()
    settings = obs_settings(tracing_enabled=False)
    async with serve(notes_app(settings, tracer_provider=provider)) as client:
        assert (await client.get("/api/v1/notes/5")).status_code == 200
    assert exporter.get_finished_spans() == ()


async def test_tracing_works_with_metrics_turned_off() -> None:
    provider, exporter = in_memory_tracing()
    settings = obs_settings(metrics_enabled=False)
    app = create_app(settings, routers=[notes_router()], tracer_provider=provider)
    async with serve(app) as client:
        assert (await client.get("/api/v1/notes/5")).status_code == 200
    assert [span.name for span in _server_spans(exporter.get_finished_spans())] == [
        "GET /api/v1/notes/{note_id}"
    ]


def test_a_global_sdk_set_before_the_app_starts_gets_one_server_span_per_request() -> None:
    environment = {
        **os.environ,
        "BASTION_ENVIRONMENT": "test",
        "BASTION_CONFIGURE_LOGGING": "false",
        "BASTION_DATABASE_URL": "sqlite+aiosqlite:///:memory:",
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.observability.global_sdk_app"],
        cwd=Path(__file__).parents[2],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    spans = [json.loads(line) for line in done.stdout.splitlines()]
    servers = [span for span in spans if span["kind"] == "SERVER"]
    # bastion's span alone: FastAPI's own request span does not double it.
    assert [(span["name"], span["scope"]) for span in servers] == [
        ("GET /api/v1/notes/{note_id}", "bastion")
    ]
    selects = [span for span in spans if span["name"] == "SELECT"]
    assert [span["parent_id"] for span in selects] == [servers[0]["span_id"]]
