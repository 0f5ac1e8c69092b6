"""Observability cost: metrics and the OpenTelemetry API without an SDK, then with one.

In-process ASGI on the small JSON GET, every app measured in the same rounds:
- bastion with metrics and tracing off (the baseline);
- bastion as `create_app` builds it: metrics on, the OpenTelemetry API with no SDK
  (target: at most +15 µs per request over the baseline);
- bastion tracing into the SDK with an in-memory exporter;
- the baseline wrapped in OpenTelemetry's contrib ASGI instrumentation, the same SDK
  and exporter (what a team adds by hand).
Run: `python -m bench.observability`.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from fastapi import APIRouter, FastAPI
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bench._asgi import call, http_scope, lifespan

# Many short rounds: on a shared machine the best round is the one least disturbed,
# and short rounds give more chances of an undisturbed one.
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "25"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "800"))
TARGET_US = 15.0


def _router() -> APIRouter:
    router = APIRouter()

    @router.get("/items")
    async def list_items() -> dict[str, object]:
        return {"ok": True, "count": 3}

    return router


def _bastion(*, metrics: bool, tracing: bool, provider: TracerProvider | None = None) -> FastAPI:
    from bastion import create_app
    from bastion.core import BastionSettings

    settings = BastionSettings(
        environment="test",
        configure_logging=False,
        ratelimit_default="100000000/minute",
        metrics_enabled=metrics,
        tracing_enabled=tracing,
    )
    return create_app(settings, routers=[_router()], tracer_provider=provider)


def _sdk() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


async def _round(app: Any, scope: dict[str, Any]) -> float:
    import time

    started = time.perf_counter()
    for _ in range(REQUESTS):
        status = await call(app, scope)
        assert status == 200, status
    return (time.perf_counter() - started) / REQUESTS * 1e6


async def _main() -> None:
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    bastion_provider, bastion_spans = _sdk()
    contrib_provider, contrib_spans = _sdk()
    baseline = _bastion(metrics=False, tracing=False)
    contrib_inner = _bastion(metrics=False, tracing=False)
    apps: dict[str, FastAPI] = {
        "off": baseline,
        "metrics + API": _bastion(metrics=True, tracing=True),
        "metrics + SDK": _bastion(metrics=True, tracing=True, provider=bastion_provider),
        "contrib ASGI": contrib_inner,
    }
    runnable: dict[str, Any] = dict(apps)
    runnable["contrib ASGI"] = OpenTelemetryMiddleware(
        contrib_inner, tracer_provider=contrib_provider
    )
    contexts = [await lifespan(app) for app in apps.values()]
    scope = http_scope("GET", "/api/v1/items", headers=[(b"user-agent", b"bench")])
    rounds: dict[str, list[float]] = {name: [] for name in runnable}
    try:
        for app in runnable.values():
            for _ in range(200):  # warm-up
                await call(app, scope)
        order = list(runnable.items())
        for index in range(ROUNDS):
            # Each round starts with another app, so none always follows the same one.
            shift = index % len(order)
            for name, app in order[shift:] + order[:shift]:
                rounds[name].append(await _round(app, scope))
                bastion_spans.clear()
                contrib_spans.clear()
    finally:
        for context in contexts:
            await context.__aexit__(None, None, None)
    best = {name: min(values) for name, values in rounds.items()}
    base = best["off"]
    print(f"small JSON GET, in-process ASGI, best of {ROUNDS} rounds x {REQUESTS} requests")
    for name, value in best.items():
        print(f"  {name:<16} {value:7.1f} µs/request  ({value - base:+6.1f} µs)")
    added = best["metrics + API"] - base
    verdict = "met" if added <= TARGET_US else "MISSED"
    print(
        f"metrics + OTel API without SDK: {added:+.1f} µs/request "
        f"(target <= +{TARGET_US:.0f} µs: {verdict})"
    )
    print(
        f"with the SDK and an in-memory exporter: bastion {best['metrics + SDK'] - base:+.1f} µs, "
        f"OpenTelemetry contrib ASGI {best['contrib ASGI'] - base:+.1f} µs per request"
    )


def main() -> None:
    asyncio.run(_main())


if __name__ == "__main__":
    main()
