"""Run by a tracing test in a process of its own: the global tracer provider is set once per process.

The SDK is configured after `create_app` (as an entry point that imports the app
first would) and before the lifespan starts; one request is served and the
finished spans are printed as JSON lines.
"""

from __future__ import annotations

import asyncio
import json

import httpx
from fastapi import APIRouter
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import text

from bastion import create_app
from bastion.core import BastionSettings
from bastion.web import AppResources

router = APIRouter()


@router.get("/notes/{note_id}")
async def read(note_id: int, resources: AppResources) -> dict[str, int]:
    assert resources.engine is not None
    async with resources.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    return {"id": note_id}


app = create_app(BastionSettings(), routers=[router], database=True)


async def _main() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            assert (await client.get("/api/v1/notes/7")).status_code == 200
    for span in exporter.get_finished_spans():
        assert span.context is not None
        line = {
            "name": span.name,
            "kind": span.kind.name,
            "scope": span.instrumentation_scope.name if span.instrumentation_scope else None,
            "span_id": span.context.span_id,
            "parent_id": span.parent.span_id if span.parent else None,
        }
        print(json.dumps(line))


if __name__ == "__main__":
    asyncio.run(_main())
