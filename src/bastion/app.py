"""`create_app`: composes settings, resources, middleware, error handlers and routers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from fastapi import APIRouter, FastAPI
from opentelemetry.trace import TracerProvider
from pydantic import SecretStr
from starlette.middleware import Middleware

from bastion._redis_client import create_redis_client, redis_ready_check
from bastion._resources import ReadyCheck, Resources
from bastion.core import BastionSettings
from bastion.db import create_engine, create_sessionmaker, database_ready_check
from bastion.jobs import Jobs
from bastion.jobs._runtime import start_jobs
from bastion.middleware import edge_middleware
from bastion.observability import Observability
from bastion.observability._logging import configure_logging, install_request_id_factory
from bastion.ratelimit import TrustedProxies, close_rate_limiter, create_rate_limiter
from bastion.web import health_router, install_exception_handlers, install_openapi
from bastion.web._database import uses_database
from bastion.web._edge_openapi import edge_statuses

__all__ = ["HostLifespan", "create_app"]

#: A host app's own lifespan: entered after bastion's resources exist and the routers'
#: features (auth) have started, exited before they stop.
HostLifespan = Callable[[FastAPI, Resources], AbstractAsyncContextManager[None]]


def _contact(settings: BastionSettings) -> dict[str, str] | None:
    contact = {
        key: value
        for key, value in (
            ("name", settings.contact_name),
            ("url", settings.contact_url),
            ("email", settings.contact_email),
        )
        if value
    }
    return contact or None


def _plain(url: SecretStr | None) -> str | None:
    """The URL a secret setting holds (None when unset)."""
    return None if url is None else url.get_secret_value()


def _license(settings: BastionSettings) -> dict[str, str] | None:
    if not settings.license_name:
        return None
    license_info = {"name": settings.license_name}
    if settings.license_url:
        license_info["url"] = settings.license_url
    return license_info


def _host_lifespan_router(lifespan: HostLifespan) -> APIRouter:
    """A route-less router carrying the host's lifespan, to be included after every other.

    FastAPI nests each included router's lifespan inside the ones merged before
    it, so the last one included starts last and stops first.
    """

    @asynccontextmanager
    async def host_lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with lifespan(app, app.state.resources):
            yield

    return APIRouter(lifespan=host_lifespan)


def create_app(
    settings: BastionSettings | None = None,
    *,
    routers: Sequence[APIRouter] = (),
    ready_checks: Mapping[str, ReadyCheck] | None = None,
    lifespan: HostLifespan | None = None,
    openapi_tags: list[dict[str, object]] | None = None,
    middleware: Iterable[Middleware] = (),
    jobs: Jobs | None = None,
    database: bool | None = None,
    tracer_provider: TracerProvider | None = None,
) -> FastAPI:
    """Build a configured FastAPI app.

    Args:
        settings: The app's settings; read from the environment when omitted.
        routers: Routers mounted under `settings.api_prefix` (`/api/v1` by default).
        ready_checks: Extra named `/ready` checks (each run under `settings.ready_timeout`).
        lifespan: The host's own lifespan, started after bastion's resources are built and
            the lifespans of `routers` (features such as `Auth(...).router`, on `Resources.auth`) have
            started; stopped before them.
        openapi_tags: OpenAPI tag descriptions.
        middleware: Extra host middleware, placed inside bastion's layers.
        jobs: The app's event handlers and jobs (`bastion.jobs`; they open the
            database); without Redis their rows are dispatched inside this
            process (development only).
        database: Whether to open the database (engine, sessions, `/ready` check).
            By default only when a route depends on `Uow` (the auth routes do):
            an app without one opens no engine and creates no SQLite file. Pass
            `True` when only the host's own code (its lifespan, a job) uses
            `resources.engine` or `resources.sessionmaker`.
        tracer_provider: Where the app's spans go; the global OpenTelemetry
            provider when omitted (nothing is traced until an SDK sets one).

    Returns:
        The app. Its resources are built when the lifespan starts, not before.
    """
    settings = settings if settings is not None else BastionSettings()
    install_request_id_factory()
    if settings.configure_logging:
        configure_logging(level=settings.log_level, json=settings.json_logs)
    observability = Observability(settings, tracer_provider=tracer_provider)

    @asynccontextmanager
    async def app_lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            stack.callback(observability.close)
            checks: dict[str, ReadyCheck] = {}
            # --- persistence: only for an app that uses it (no engine, file or check else) ---
            engine = None
            if database if database is not None else (jobs is not None or uses_database(app)):
                engine = create_engine(settings)
                stack.push_async_callback(engine.dispose)
                observability.instrument_engine(engine)
                checks["database"] = database_ready_check(engine)
            # --- edge ---
            redis = None
            redis_url = _plain(settings.redis_url)
            if redis_url:
                redis = create_redis_client(redis_url, settings, tracer=observability.tracer())
                stack.push_async_callback(redis.aclose)
                checks["redis"] = redis_ready_check(redis)
            limiter_redis = redis
            storage_url = _plain(settings.ratelimit_storage_url)
            if storage_url is not None:
                limiter_redis = None
                if not storage_url.startswith("memory://"):
                    limiter_redis = create_redis_client(
                        storage_url, settings, tracer=observability.tracer()
                    )
                    stack.push_async_callback(limiter_redis.aclose)
                    checks["ratelimit_redis"] = redis_ready_check(limiter_redis)
            limiter = create_rate_limiter(settings, limiter_redis)
            stack.push_async_callback(close_rate_limiter, limiter)
            resources = Resources(
                settings=settings,
                limiter=limiter,
                trusted_proxies=TrustedProxies(
                    settings.trusted_proxies, header=settings.forwarded_header
                ),
                engine=engine,
                sessionmaker=None if engine is None else create_sessionmaker(engine),
                read_sessionmaker=(
                    None if engine is None else create_sessionmaker(engine, read_only=True)
                ),
                redis=redis,
            )
            for name, check in checks.items():
                resources.add_ready_check(name, check)
            for name, check in (ready_checks or {}).items():
                resources.add_ready_check(name, check)
            if jobs is not None:
                await stack.enter_async_context(start_jobs(jobs, resources))
            app.state.resources = resources
            try:
                yield
            finally:
                app.state.resources = None

    docs = settings.docs_active
    app = FastAPI(
        title=settings.app_name,
        version=settings.app_version,
        description=settings.app_description,
        openapi_tags=openapi_tags,
        openapi_url="/openapi.json" if docs else None,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        lifespan=app_lifespan,
        # Starlette's slash redirect builds an absolute URL from the Host header
        # (an open redirect a client can aim): a path differing only by its
        # trailing slash is a 404, as any unknown path.
        redirect_slashes=False,
        # Metrics and the server span outermost (they measure the whole request,
        # refusals included), then the edge layers in their one order (see
        # `edge_layers`); the host's own middleware sits inside them.
        middleware=[*observability.middleware(), *edge_middleware(settings), *middleware],
        contact=_contact(settings),
        license_info=_license(settings),
        # bastion traces requests itself: FastAPI's own server spans (0.165 and
        # later; older releases keep the option unused) would trace each twice.
        telemetry={"tracing": False} if settings.tracing_enabled else None,
    )
    app.state.settings = settings
    app.state.resources = None
    install_exception_handlers(app)
    install_openapi(app, always=(500,), per_route=edge_statuses(settings))
    # The probes are added to the app's own router, not included: FastAPI matches
    # an included router through a layer of its own. Where a host route could
    # shadow them (a catch-all under an empty API prefix) they come first; under a
    # prefix no host route can, and they come last, so that API requests, the
    # many, are not tried against them first (docs/edge.md).
    probes_first = not settings.api_prefix

    def add_probes() -> None:
        health_router(app.router)
        observability.router(app.router)

    if probes_first:
        add_probes()
    for router in routers:
        app.include_router(router, prefix=settings.api_prefix)
    if not probes_first:
        add_probes()
    if lifespan is not None:
        # After the routers, so the features they start (auth) exist when it runs.
        app.include_router(_host_lifespan_router(lifespan))
    return app
