"""The example's `/metrics` contract: request counts and latency by route template, method, status."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

NOTES = "/api/v1/notes"


def _value(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


async def test_metrics_count_notes_requests_by_route_template(client: httpx.AsyncClient) -> None:
    note = (await client.post(NOTES, json={"title": "a", "body": "b"})).json()
    await client.get(f"{NOTES}/{note['id']}")
    await client.get(f"{NOTES}/01890f5e-0000-7000-8000-000000000000")
    unauthenticated = await client.get(NOTES, headers={"Authorization": ""})
    assert unauthenticated.status_code == 401
    scrape = await client.get("/metrics")
    assert scrape.status_code == 200
    assert scrape.headers["content-type"].startswith("text/plain")
    text = scrape.text
    one = {"route": "/api/v1/notes/{note_id}", "method": "GET"}
    assert _value(text, "http_requests_total", **one, status="200") == 1
    assert _value(text, "http_requests_total", **one, status="404") == 1
    assert _value(text, "http_request_duration_seconds_count", **one, status="200") == 1
    assert _value(text, "http_requests_total", route=NOTES, method="POST", status="201") == 1
    assert _value(text, "http_errors_total", route=NOTES, code="NOT_AUTHENTICATED") == 1
    assert note["id"] not in text  # the template, never the path
