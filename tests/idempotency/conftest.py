"""Idempotency fixtures: the test app on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bastion.core import BastionSettings
from tests.conftest import serve
from tests.db.conftest import db_settings  # noqa: F401  # the parametrized database fixture
from tests.idempotency.app import idempotent_app


@pytest.fixture
def app_settings(db_settings: BastionSettings) -> BastionSettings:  # noqa: F811
    """The parametrized database, without the global rate limit."""
    return db_settings.model_copy(update={"ratelimit_default": None})


@pytest.fixture
async def client(app_settings: BastionSettings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the idempotency test app."""
    async with serve(idempotent_app(app_settings)) as client:
        yield client
