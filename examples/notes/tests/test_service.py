"""The notes service answers its probes and hides its docs outside development."""

from __future__ import annotations

import httpx
import pytest

from notes_app.config import NotesSettings
from notes_app.main import create_notes_app


async def test_health_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


async def test_docs_hidden_in_test_environment(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs")).status_code == 404


def test_openapi_title_comes_from_the_notes_settings() -> None:
    app = create_notes_app(NotesSettings(environment="development", configure_logging=False))
    assert app.openapi()["info"]["title"] == "notes"


def test_production_refuses_the_development_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASTION_ENVIRONMENT", "production")
    monkeypatch.delenv("BASTION_SECRET_KEY", raising=False)
    with pytest.raises(ValueError, match="BASTION_SECRET_KEY"):
        create_notes_app()
