"""Helpers for the observability tests: an app with a few routes, and a scrape parser."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import APIRouter, FastAPI
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel

from bastion import create_app
from bastion.core import BastionSettings
from bastion.errors import NotFoundError
from tests.conftest import TEST_SECRET


class NoteIn(BaseModel):
    title: str


def notes_router(gate: asyncio.Event | None = None) -> APIRouter:
    """`/notes/{id}` (404 for id 0), a validated POST, a crash and a route that waits on `gate`."""
    router = APIRouter()

    @router.get("/notes/{note_id}")
    async def read(note_id: int) -> dict[str, int]:
        if note_id == 0:
            raise NotFoundError("No such note.")
        return {"id": note_id}

    @router.post("/notes", status_code=201)
    async def create(note: NoteIn) -> dict[str, str]:
        return {"title": note.title}

    @router.get("/crash")
    async def crash() -> None:
        raise RuntimeError("internal detail")

    @router.get("/wait")
    async def wait() -> dict[str, bool]:
        if gate is not None:
            await gate.wait()
        return {"ok": True}

    return router


def obs_settings(**overrides: object) -> BastionSettings:
    """Test settings (bastion's logging left alone) with `overrides`."""
    values: dict[str, object] = {
        "environment": "test",
        "secret_key": TEST_SECRET,
        "configure_logging": False,
    }
    values.update(overrides)
    return BastionSettings(**values)  # type: ignore[arg-type]


def notes_app(
    settings: BastionSettings | None = None,
    *,
    gate: asyncio.Event | None = None,
    tracer_provider: TracerProvider | None = None,
    database: bool | None = None,
) -> FastAPI:
    return create_app(
        settings or obs_settings(),
        routers=[notes_router(gate)],
        tracer_provider=tracer_provider,
        database=database,
    )


def in_memory_tracing() -> tuple[TracerProvider, InMemorySpanExporter]:
    """An SDK tracer provider exporting every finished span to memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus text scrape, by name and label set."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    """The value of one sample of a scrape (0 when absent)."""
    return samples(text).get((name, frozenset(labels.items())), 0.0)


async def scrape(client: httpx.AsyncClient, **headers: str) -> str:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    return response.text
