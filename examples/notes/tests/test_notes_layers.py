"""The notes service keeps its layers: no SQL in routers, no HTTP in services."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import notes_app

APP = Path(notes_app.__file__).parent


def _imports(name: str) -> set[str]:
    tree = ast.parse((APP / name).read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("routers.py", ("sqlalchemy", "notes_app.repositories", "notes_app.models")),
        ("services.py", ("fastapi", "starlette", "sqlalchemy")),
        ("repositories.py", ("fastapi", "starlette")),
        ("schemas.py", ("fastapi", "sqlalchemy")),
    ],
)
def test_a_layer_never_imports_what_sits_on_the_other_side(
    module: str, forbidden: tuple[str, ...]
) -> None:
    assert not {name for name in _imports(module) if name.startswith(forbidden)}
