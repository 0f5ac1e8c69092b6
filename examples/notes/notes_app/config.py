"""Settings of the notes service: bastion's, plus its own."""

from __future__ import annotations

from pydantic import Field

from bastion.core import BastionSettings, OptionalRateLimitSetting, RateLimitSetting


class NotesSettings(BastionSettings):
    """The notes service's settings, read from `BASTION_*` variables."""

    app_name: str = "notes"
    app_description: str = "A small notes service showing how a bastion app is laid out."
    # Per-IP budgets are sized for many people behind one address (an office NAT, a
    # mobile carrier): the global one generous, the auth entry points stricter. The
    # per-account login throttle (5 failures a minute) is what stops password guessing.
    # Annotated as bastion's own limits are, so a bad value is refused when they load
    # and an empty `BASTION_RATELIMIT_DEFAULT` turns the global limit off.
    ratelimit_default: OptionalRateLimitSetting = "3000/minute"
    auth_rate_limit: RateLimitSetting = Field(
        default="300/minute",
        description="Budget per client IP shared by login, registration and the second factor.",
    )
