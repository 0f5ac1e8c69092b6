"""The snippets in docs/ are real code: they run and do what the docs say."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from tests.conftest import serve

SNIPPETS = Path(__file__).parents[1] / "docs" / "snippets"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"snippet_{name}", SNIPPETS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


async def test_first_app_snippet_behaves_as_documented() -> None:
    app = _load("first_app").build()
    async with serve(app) as client:
        hello = await client.get("/api/v1/greetings/en")
        missing = await client.get("/api/v1/greetings/xx")
        health = await client.get("/health")
        docs = await client.get("/docs")
    assert hello.json() == {"greeting": "Hello"}
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NOT_FOUND"
    assert missing.json()["error"]["message"] == "No greeting for 'xx'."
    assert health.json() == {"status": "ok"}
    assert docs.status_code == 200  # development is the default environment
