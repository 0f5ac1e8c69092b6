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


async def test_an_empty_global_limit_in_the_environment_starts_the_app_without_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BASTION_RATELIMIT_DEFAULT", "")
    settings = NotesSettings(environment="test", configure_logging=False)
    assert settings.ratelimit_default is None
    app = create_notes_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.get("/api/v1/notes")
    assert response.status_code == 401  # served: no global limit refused it
    assert "ratelimit-policy" not in response.headers


@pytest.mark.parametrize("variable", ["BASTION_RATELIMIT_DEFAULT", "BASTION_AUTH_RATE_LIMIT"])
def test_a_bad_limit_in_the_environment_is_refused_when_the_settings_load(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "lots/fortnight")
    with pytest.raises(ValueError, match=variable.removeprefix("BASTION_").lower()):
        NotesSettings(environment="test", configure_logging=False)


def test_the_schema_names_the_bearer_scheme_on_the_routes_that_need_a_caller() -> None:
    schema = create_notes_app(NotesSettings(environment="test", configure_logging=False)).openapi()
    scheme = schema["components"]["securitySchemes"]["HTTPBearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    paths = schema["paths"]
    bearer = [{"HTTPBearer": []}]
    assert paths["/api/v1/notes"]["get"]["security"] == bearer
    assert paths["/api/v1/notes/{note_id}"]["patch"]["security"] == bearer
    assert paths["/api/v1/auth/me"]["get"]["security"] == bearer
    assert paths["/api/v1/admin/users"]["get"]["security"] == bearer
    assert "security" not in paths["/api/v1/auth/login"]["post"]
    assert "security" not in paths["/health"]["get"]


def test_the_schema_documents_the_if_match_and_idempotency_key_headers() -> None:
    schema = create_notes_app(NotesSettings(environment="test", configure_logging=False)).openapi()
    paths = schema["paths"]

    def headers(path: str, method: str) -> set[str]:
        parameters = paths[path][method].get("parameters", [])
        return {p["name"] for p in parameters if p["in"] == "header"}

    assert headers("/api/v1/notes", "post") == {"Idempotency-Key"}
    assert headers("/api/v1/notes/{note_id}", "patch") >= {"If-Match"}
    assert headers("/api/v1/notes/{note_id}", "delete") >= {"If-Match"}
    assert headers("/api/v1/notes", "get") == set()


def test_the_schema_documents_the_response_headers_clients_read() -> None:
    schema = create_notes_app(NotesSettings(environment="test", configure_logging=False)).openapi()
    paths = schema["paths"]
    read = paths["/api/v1/notes/{note_id}"]["get"]["responses"]
    created = paths["/api/v1/notes"]["post"]["responses"]
    assert "ETag" in read["200"]["headers"]
    assert "ETag" in paths["/api/v1/notes/{note_id}"]["patch"]["responses"]["200"]["headers"]
    assert "Idempotent-Replayed" in created["201"]["headers"]
    assert "Retry-After" in created["429"]["headers"]
    assert "Retry-After" in created["503"]["headers"]
    assert "headers" not in read["404"]
