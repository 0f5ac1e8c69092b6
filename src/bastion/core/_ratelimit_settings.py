"""The rate-limit fields of `BastionSettings`, kept apart from `_settings.py`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings

from bastion.core._setting_types import (
    OptionalRateLimitSetting,
    PathPrefixSetting,
    RateLimitStorageUrlSetting,
)

__all__ = ["RateLimitSettings"]


class RateLimitSettings(BaseSettings):
    """The global rate limit of `BastionSettings`: budget, storage, strategy, outage policy."""

    ratelimit_default: OptionalRateLimitSetting = Field(
        default="600/minute",
        description="Global limit per client IP (`limits` notation); empty for none.",
    )
    ratelimit_storage_url: RateLimitStorageUrlSetting = Field(
        default=None,
        description="`memory://` or a Redis URL for the counters; unset uses `REDIS_URL`, else memory.",
    )
    ratelimit_strategy: Literal["sliding-window-counter", "moving-window", "fixed-window"] = Field(
        default="sliding-window-counter", description="The `limits` strategy counting hits."
    )
    ratelimit_key_prefix: str = Field(
        default="bastion", min_length=1, description="Prefix of every rate-limit key in storage."
    )
    ratelimit_fail_open: bool = Field(
        default=True,
        description="On a storage outage serve the request (log and count); false answers 503. The auth throttles always fail closed.",
    )
    ratelimit_outage_cooldown: float = Field(
        default=1.0,
        ge=0,
        description="Seconds the outage policy applies without asking a failed storage again.",
    )
    ratelimit_headers: Literal["both", "legacy", "draft", "none"] = Field(
        default="both",
        description="`legacy` (`RateLimit-Limit/-Remaining/-Reset`), `draft` (`RateLimit-Policy` + `RateLimit`), both or none.",
    )
    ratelimit_exempt_paths: list[PathPrefixSetting] = Field(
        default_factory=lambda: ["/health", "/ready", "/metrics"],
        description="Paths the global limit never counts.",
    )
