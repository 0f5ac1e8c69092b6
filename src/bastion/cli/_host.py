"""The host app a command works on: started in its lifespan, its auth service reached.

A command that runs the app's own lifespan uses exactly what the app serves
with: its settings, database, auth models, hooks and password policy.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from bastion._resources import Resources, app_resources
from bastion.auth import AccountService
from bastion.cli._target import HostError
from bastion.db import UnitOfWork

__all__ = ["auth_service", "running"]


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[Resources]:
    """Run the app's lifespan (startup, then shutdown on exit) and yield its resources.

    Raises:
        HostError: The app is not built by `bastion.create_app`.
    """
    async with app.router.lifespan_context(app):
        resources = app_resources(app)
        if resources is None:
            raise HostError("the app is not a bastion app (built by bastion.create_app)")
        yield resources


@asynccontextmanager
async def auth_service(resources: Resources) -> AsyncIterator[AccountService]:
    """The app's `AccountService` on a unit of work that commits when the block succeeds.

    Raises:
        HostError: The app mounts no auth router, or has no database.
    """
    auth = resources.auth
    if auth is None:
        raise HostError("the app mounts no auth router (bastion.auth.Auth(...).router)")
    if resources.sessionmaker is None:
        raise HostError("the app has no database")
    async with UnitOfWork(resources.sessionmaker) as uow:
        yield auth.accounts(uow, resources.limiter)
