"""The snippets in docs/ are real code: they run and do what the docs say."""

from __future__ import annotations

from tests.conftest import serve
from tests.snippets import load_snippet


async def test_first_app_snippet_behaves_as_documented() -> None:
    app = load_snippet("first_app").build()
    async with serve(app) as client:
        hello = await client.get("/api/v1/greetings/en")
        missing = await client.get("/api/v1/greetings/xx")
        health = await client.get("/health")
        ready = await client.get("/ready")
        docs = await client.get("/docs")
    assert hello.json() == {"greeting": "Hello"}
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NOT_FOUND"
    assert missing.json()["error"]["message"] == "No greeting for 'xx'."
    assert health.json() == {"status": "ok"}
    assert ready.json() == {"status": "ready", "checks": {}}  # no database route, no database
    assert docs.status_code == 200  # development is the default environment
