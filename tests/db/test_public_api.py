"""The public surface: `__all__` lists are sorted and every name in them exists."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize(
    "module", ["bastion", "bastion.db", "bastion.web", "bastion.db.migrations"]
)
def test_all_is_sorted_and_importable(module: str) -> None:
    namespace = importlib.import_module(module)
    names = list(namespace.__all__)
    assert names == sorted(names, key=lambda n: (not n.isupper(), not n[:1].isupper(), n))
    for name in names:
        assert hasattr(namespace, name), f"{module}.{name} is missing"


def test_the_persistence_names_most_apps_need_are_at_the_top_level() -> None:
    import bastion
    import bastion.web

    assert {"Base", "BaseRepository", "UnitOfWork"} <= set(bastion.__all__)
    assert "Uow" in bastion.web.__all__


def test_db_and_services_never_import_fastapi_or_starlette() -> None:
    import ast
    from pathlib import Path

    root = Path(importlib.import_module("bastion.db").__file__ or "").parent
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                )
                for name in names:
                    assert not name.startswith(("fastapi", "starlette")), (
                        f"{path.name} imports {name}"
                    )
                    assert not name.startswith(("bastion.web", "bastion.app")), path.name
