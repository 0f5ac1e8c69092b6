"""The one typed object holding everything the lifespan builds."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bastion.core.settings import BastionSettings
from bastion.web.readiness import ReadinessCheck, ReadyCheck

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

    def add_ready_check(
        self, name: str, check: ReadyCheck, *, timeout: float | None = None
    ) -> None:
        """Register a named `/ready` check (replacing one of the same name)."""
        self.ready_checks[name] = ReadinessCheck(check, timeout)
