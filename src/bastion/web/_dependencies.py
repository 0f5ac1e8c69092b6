"""Dependency-injection providers for the app's resources and settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from bastion._resources import Resources, app_resources
from bastion.core import BastionSettings
from bastion.errors import ServiceUnavailableError

__all__ = ["AppResources", "AppSettings", "get_resources", "get_settings"]


async def get_resources(connection: HTTPConnection) -> Resources:
    """Return the resources the lifespan built.

    A coroutine, though it awaits nothing: FastAPI runs a plain `def`
    dependency in a worker thread, a hop that costs more than this does.

    Raises:
        ServiceUnavailableError: The app is serving without its lifespan having run.
    """
    resources = app_resources(connection.app)
    if resources is None:
        raise ServiceUnavailableError("The application has not finished starting.")
    return resources


async def get_settings(connection: HTTPConnection) -> BastionSettings:
    """Return the app's settings (the instance `create_app` was given)."""
    settings: BastionSettings = connection.app.state.settings
    return settings


AppResources = Annotated[Resources, Depends(get_resources)]
"""The lifespan's `Resources`: `Annotated[Resources, Depends(get_resources)]`.

503 `SERVICE_UNAVAILABLE` while the app has not finished starting.
"""
AppSettings = Annotated[BastionSettings, Depends(get_settings)]
"""The app's settings: `Annotated[BastionSettings, Depends(get_settings)]`."""
