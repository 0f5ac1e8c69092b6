"""Traces to an OpenTelemetry collector over OTLP/HTTP (`pip install 'bastion[otel]'`)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from bastion import create_app
from bastion.core import BastionSettings
from bastion.web import Resources

router = APIRouter()


@router.get("/greetings/{lang}")
async def greeting(lang: str) -> dict[str, str]:
    return {"greeting": "Hello"}


def build(endpoint: str = "http://127.0.0.1:4318/v1/traces") -> FastAPI:
    provider = TracerProvider(resource=Resource.create({"service.name": "greetings"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))

    @asynccontextmanager
    async def lifespan(app: FastAPI, resources: Resources) -> AsyncIterator[None]:
        yield
        provider.shutdown()  # sends the spans still queued before the process exits

    settings = BastionSettings(app_name="greetings")
    return create_app(settings, routers=[router], lifespan=lifespan, tracer_provider=provider)
