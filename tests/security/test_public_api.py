"""The public surface of `bastion.security`: a sorted `__all__`, and no web or DB imports."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import bastion.security

PACKAGE = Path(bastion.security.__file__).parent
ALLOWED = ("bastion.core", "bastion.errors", "bastion.security")
FORBIDDEN = ("fastapi", "starlette", "sqlalchemy", "httpx")


def _isort_key(name: str) -> tuple[int, str]:
    # ruff's RUF022 order: CONSTANTS, then Classes, then functions.
    kind = 0 if name.isupper() else 1 if name[0].isupper() else 2
    return kind, name


def test_all_is_sorted_and_every_name_exists() -> None:
    names = bastion.security.__all__
    assert names == sorted(names, key=_isort_key)
    assert len(set(names)) == len(names)
    for name in names:
        assert hasattr(bastion.security, name), name


def test_implementation_modules_are_private_and_their_all_is_the_package_all() -> None:
    exported: set[str] = set()
    for module in PACKAGE.glob("*.py"):
        if module.name == "__init__.py":
            continue
        assert module.name.startswith("_"), f"{module.name} is an implementation module"
        private = importlib.import_module(f"bastion.security.{module.stem}")
        exported.update(getattr(private, "__all__", ()))
    assert exported == set(bastion.security.__all__)


def test_the_package_imports_only_core_errors_and_no_web_or_database_library() -> None:
    for module in PACKAGE.glob("*.py"):
        tree = ast.parse(module.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                targets = [node.module or ""]
            else:
                continue
            for target in targets:
                assert not target.startswith(FORBIDDEN), f"{module.name} imports {target}"
                if target.startswith("bastion"):
                    assert target.startswith(ALLOWED), f"{module.name} imports {target}"
