"""The one typed object holding everything the lifespan builds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bastion.core.settings import BastionSettings
from bastion.ratelimit.client_ip import TrustedProxies
from bastion.ratelimit.limiter import RateLimiter
from bastion.ratelimit.storage import rate_limit_storage
from bastion.web.readiness import ReadinessCheck, ReadyCheck

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from bastion.auth._runtime import AuthRuntime
    from bastion.idempotency.locks import InFlightLocks
    from bastion.jobs import Jobs
    from bastion.ratelimit.keys import UserResolver

__all__ = ["Resources"]


@dataclass(slots=True)
class Resources:
    """Process-wide resources built in the lifespan and closed at shutdown.

    Reached through DI (`AppResources`), never through module globals. Each
    capability adds its own typed field here (engine, Redis client, limiter).
    """

    settings: BastionSettings
    ready_checks: dict[str, ReadinessCheck] = field(default_factory=dict)
    # --- persistence ---
    #: The async engine (`None` until the lifespan builds it).
    engine: AsyncEngine | None = None
    #: The session factory units of work open sessions from.
    sessionmaker: async_sessionmaker[AsyncSession] | None = None
    #: Sessions for units of work that only read (safe methods): on SQLite they
    #: never wait for the write lock. See `create_sessionmaker(read_only=True)`.
    read_sessionmaker: async_sessionmaker[AsyncSession] | None = None
    # --- edge ---
    #: The app's redis-py client (from `BASTION_REDIS_URL`), or None.
    redis: Redis | None = None
    #: Rate-limit budgets (memory unless Redis is configured); see `bastion.ratelimit`.
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter(rate_limit_storage(None)))
    #: Proxies whose forwarding headers are believed (from `BASTION_TRUSTED_PROXIES`).
    trusted_proxies: TrustedProxies = field(default_factory=TrustedProxies)
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
    #: Set when the lifespan that built these resources has ended.
    closed: bool = False

    def add_ready_check(
        self, name: str, check: ReadyCheck, *, timeout: float | None = None
    ) -> None:
        """Register a named `/ready` check (replacing one of the same name)."""
        self.ready_checks[name] = ReadinessCheck(check, timeout)
