"""The collector setup docs/observability.md shows: the OTLP exporter snippet and the scrape config."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.conftest import serve
from tests.snippets import SNIPPETS, load_snippet


class _Collector(BaseHTTPRequestHandler):
    """Records each OTLP/HTTP export it is sent and answers 200, as a collector does."""

    received: list[tuple[str, str, bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads what was received."""


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    received: list[tuple[str, str, bytes]] = []
    handler = type("Collector", (_Collector,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/traces", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


async def test_the_otlp_snippet_exports_each_request_span_to_the_collector(
    collector: tuple[str, list[tuple[str, str, bytes]]],
) -> None:
    endpoint, received = collector
    app = load_snippet("otlp_tracing").build(endpoint)
    async with serve(app) as client:
        assert (await client.get("/api/v1/greetings/en")).status_code == 200
    # The host lifespan shut the provider down: the queued span was sent.
    assert received, "the collector received nothing"
    path, content_type, body = received[0]
    assert path == "/v1/traces"
    assert content_type == "application/x-protobuf"
    export = ExportTraceServiceRequest.FromString(body)
    (resource_spans,) = export.resource_spans
    service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert service["service.name"] == "greetings"
    names = [span.name for scope in resource_spans.scope_spans for span in scope.spans]
    assert names == ["GET /api/v1/greetings/{lang}"]


def test_the_prometheus_scrape_config_sends_the_metrics_token_as_a_bearer_token() -> None:
    config = yaml.safe_load(Path(SNIPPETS, "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["authorization"]["type"] == "Bearer"
    assert job["authorization"]["credentials_file"]
