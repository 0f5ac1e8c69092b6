"""An app with jobs for `bastion worker` run as a process: settings from the environment."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from bastion import create_app
from bastion.core import BastionSettings
from bastion.web import Resources
from tests.db.models import TestBase
from tests.jobs.app import Calls, build_jobs


@asynccontextmanager
async def create_test_tables(_app: FastAPI, resources: Resources) -> AsyncIterator[None]:
    """A host lifespan creating the test tables."""
    assert resources.engine is not None
    async with resources.engine.begin() as connection:
        await connection.run_sync(TestBase.metadata.create_all)
    yield


def create_worker_app() -> FastAPI:
    return create_app(BastionSettings(), jobs=build_jobs(Calls()), lifespan=create_test_tables)
