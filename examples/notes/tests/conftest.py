"""Fixtures for the notes example's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from notes_app.config import NotesSettings
from notes_app.main import create_notes_app

TEST_SECRET = "notes-test-secret-key-that-is-long-enough"


@pytest.fixture
def anyio_backend() -> str:
    """The example's async tests run on asyncio."""
    return "asyncio"


@pytest.fixture
def notes_settings() -> NotesSettings:
    """Test settings for the notes app."""
    return NotesSettings(environment="test", secret_key=TEST_SECRET, configure_logging=False)


@pytest.fixture
async def client(notes_settings: NotesSettings) -> AsyncIterator[httpx.AsyncClient]:
    """A client talking to the notes app over ASGI, inside its lifespan."""
    app = create_notes_app(notes_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c
