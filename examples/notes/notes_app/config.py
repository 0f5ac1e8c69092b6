"""Settings of the notes service: bastion's, plus its own."""

from __future__ import annotations

from pydantic import Field

from bastion import BastionSettings


class NotesSettings(BastionSettings):
    """The notes service's settings, read from `BASTION_*` variables."""

    app_name: str = "notes"
    app_description: str = "A small notes service showing how a bastion app is laid out."
    auth_rate_limit: str = Field(
        default="10/minute",
        description="Budget per client IP shared by the auth routes (login, register, reset).",
    )
