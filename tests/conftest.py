"""Shared fixtures: settings, an app client inside the lifespan, integration service URLs."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from bastion.core import BastionSettings

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"

# The plugin host apps get from its entry point (see `addopts` in pyproject.toml), and
# pytester, which runs pytest inside a test to check what the plugin does to a whole run.
pytest_plugins = ["bastion.testing", "pytester"]


@pytest.fixture
def anyio_backend() -> str:
    """Async tests (anyio auto mode) run on asyncio only."""
    return "asyncio"


def _service_url(variable: str, what: str) -> str:
    url = os.environ.get(variable)
    if url:
        return url
    message = f"{what} integration test: set {variable} to run it"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (it is required in CI)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL URL from BASTION_TEST_DATABASE_URL (skips locally, fails in CI)."""
    return _service_url("BASTION_TEST_DATABASE_URL", "PostgreSQL")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis URL from BASTION_TEST_REDIS_URL (skips locally, fails in CI)."""
    return _service_url("BASTION_TEST_REDIS_URL", "Redis")


@pytest.fixture(autouse=True)
def _clear_of_a_minute_boundary() -> None:
    """Start each test at least a second before the clock's next full minute.

    The default sliding window counter weighs the previous minute's hits by the
    share of it still inside the window, rounded down: just after a boundary a
    budget of N per minute admits one hit more (`limits`' arithmetic). A test
    that spends a tight budget and expects the next hit refused would fail when
    its hits straddle a boundary; one that starts clear of it does not.
    """
    left = 60 - time.time() % 60
    if left < 1.0:
        time.sleep(left + 0.01)


@pytest.fixture(autouse=True)
def _in_memory_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """Apps built from default settings use an in-memory SQLite, not a file in the cwd."""
    monkeypatch.setenv("BASTION_DATABASE_URL", "sqlite+aiosqlite:///:memory:")


@pytest.fixture
def settings() -> BastionSettings:
    """Test-environment settings with a strong key and bastion's logging left alone."""
    return BastionSettings(environment="test", secret_key=TEST_SECRET, configure_logging=False)


@asynccontextmanager
async def serve(app: FastAPI, **client_options: object) -> AsyncIterator[httpx.AsyncClient]:
    """Run `app`'s lifespan and yield a client talking to it over ASGI."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://testserver",
            **client_options,  # type: ignore[arg-type]
        ) as client:
            yield client
