"""The one typed object holding everything the lifespan builds, and its accessor.

It imports no other bastion package when it runs (its field types are
annotations only), so every layer that reads the resources (`middleware`,
`ratelimit`, `web`, `auth`) may import it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
    from starlette.applications import Starlette

    from bastion.auth._runtime import AuthRuntime
    from bastion.core import BastionSettings
    from bastion.idempotency import InFlightLocks
    from bastion.jobs import Jobs
    from bastion.ratelimit import RateLimiter, TrustedProxies, UserResolver

__all__ = ["ReadinessCheck", "ReadyCheck", "Resources", "app_resources"]

#: A readiness probe: returns normally when healthy, raises (or returns False) when not.
ReadyCheck = Callable[[], Awaitable[bool | None]]


@dataclass(frozen=True, slots=True)
class ReadinessCheck:
    """A named readiness probe and its timeout in seconds (`None`: the settings default)."""

    check: ReadyCheck
    timeout: float | None = None


@dataclass(slots=True)
class Resources:
    """Process-wide resources built in the lifespan and closed at shutdown.

    Reached through DI (`AppResources`), never through module globals. Each
    capability adds its own typed field here (engine, Redis client, limiter).
    """

    settings: BastionSettings
    # --- edge ---
    #: Rate-limit budgets (memory unless Redis is configured); see `bastion.ratelimit`.
    limiter: RateLimiter
    #: Proxies whose forwarding headers are believed (from `BASTION_TRUSTED_PROXIES`).
    trusted_proxies: TrustedProxies
    ready_checks: dict[str, ReadinessCheck] = field(default_factory=dict)
    # --- persistence ---
    #: The async engine (`None` for an app that opens no database).
    engine: AsyncEngine | None = None
    #: The session factory units of work open sessions from.
    sessionmaker: async_sessionmaker[AsyncSession] | None = None
    #: Sessions for units of work that only read (safe methods): on SQLite they
    #: never wait for the write lock. See `create_sessionmaker(read_only=True)`.
    read_sessionmaker: async_sessionmaker[AsyncSession] | None = None
    #: The app's redis-py client (from `BASTION_REDIS_URL`), or None.
    redis: Redis | None = None
    #: In-flight locks of idempotency keys (memory, or Redis when configured), made
    #: by the first idempotent request; set one here to choose another store.
    idempotency_locks: InFlightLocks | None = None
    # --- auth ---
    #: The running auth feature (primitives, models, hooks), set when `Auth.router` is mounted.
    auth: AuthRuntime | None = None
    #: Authenticates a request and names its user, for `by_user` (set by the auth feature).
    user_resolver: UserResolver | None = None
    # --- jobs ---
    #: Event handlers and jobs (`create_app(..., jobs=...)`), or None.
    jobs: Jobs | None = None

    def add_ready_check(
        self, name: str, check: ReadyCheck, *, timeout: float | None = None
    ) -> None:
        """Register a named `/ready` check (replacing one of the same name)."""
        self.ready_checks[name] = ReadinessCheck(check, timeout)


def app_resources(app: Starlette) -> Resources | None:
    """The resources of a running app (`scope["app"]` in middleware, `request.app` in a route).

    The one place that reads them off the app's state: middleware, which runs
    outside FastAPI's dependency injection, the dependencies and the CLI call it.

    Returns:
        The lifespan's `Resources`, or `None` while the app is not running
        (its lifespan has not started, or has ended).
    """
    resources = getattr(app.state, "resources", None)
    return resources if isinstance(resources, Resources) else None
