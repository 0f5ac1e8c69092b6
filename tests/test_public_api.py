"""The public surface: each package's `__all__` is sorted, complete and matches what it defines."""

from __future__ import annotations

import importlib
import pkgutil
import re
import types
from pathlib import Path

import pytest

import bastion

REFERENCE = Path(__file__).parents[1] / "docs" / "reference.md"
ROOT = Path(bastion.__file__).parent
PACKAGES = sorted(
    ["bastion"]
    + [
        f"bastion.{info.name}"
        for info in pkgutil.iter_modules([str(ROOT)])
        if info.ispkg and not info.name.startswith("_")
    ]
)
#: Public modules of packages whose implementation is private: each loads a heavy
#: optional dependency (alembic, arq) only when imported, so its package does not.
PUBLIC_MODULES = {"bastion.app", "bastion.db.migrations", "bastion.jobs.worker"}
#: Packages whose modules are not private yet.
NOT_YET_PRIVATE: set[str] = set()


#: The top level: the names an app is built from (the tutorial's app needs exactly these).
TOP_LEVEL = [
    "Auth",
    "Base",
    "BaseRepository",
    "CurrentUser",
    "EntityMixin",
    "IfMatch",
    "KeysetPage",
    "ListParams",
    "RateLimit",
    "RefreshSessionMixin",
    "UnitOfWork",
    "UserMixin",
    "create_app",
    "list_query",
    "provide_service",
]


def _isort_key(name: str) -> tuple[int, str]:
    # ruff's RUF022 order: CONSTANTS, then Classes, then functions.
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def _is_plugin_hook(package: str, name: str) -> bool:
    """`bastion.testing`'s `pytest_plugins`: pytest reads it, nobody imports it."""
    return package == "bastion.testing" and name == "pytest_plugins"


def test_every_package_is_checked() -> None:
    assert {"bastion.core", "bastion.errors", "bastion.web", "bastion.cli"} <= set(PACKAGES)


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_importable(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported, key=_isort_key), f"{name}.__all__ is not sorted"
    assert len(exported) == len(set(exported))
    for symbol in exported:
        assert hasattr(module, symbol), f"{name}.{symbol} is exported but missing"


@pytest.mark.parametrize("name", PACKAGES)
def test_every_public_name_of_a_package_is_in_its_all(name: str) -> None:
    module = importlib.import_module(name)
    public = {
        attribute
        for attribute, value in vars(module).items()
        if not attribute.startswith("_")
        and not isinstance(value, types.ModuleType)
        and not _is_plugin_hook(name, attribute)
    }
    assert public <= set(module.__all__), f"{name} defines {public - set(module.__all__)}"


@pytest.mark.parametrize("name", sorted(set(PACKAGES) - NOT_YET_PRIVATE - {"bastion"}))
def test_implementation_modules_are_private(name: str) -> None:
    package = importlib.import_module(name)
    public = {
        f"{name}.{info.name}"
        for info in pkgutil.iter_modules(package.__path__)
        if not info.name.startswith("_")
    }
    assert public <= PUBLIC_MODULES, f"public modules: {public - PUBLIC_MODULES}"


def test_top_level_modules_are_private() -> None:
    public = {
        f"bastion.{info.name}"
        for info in pkgutil.iter_modules([str(ROOT)])
        if not info.ispkg and not info.name.startswith("_")
    }
    assert public <= PUBLIC_MODULES


def test_the_top_level_exports_at_most_fifteen_names_an_app_is_built_from() -> None:
    assert bastion.__all__ == TOP_LEVEL
    assert len(bastion.__all__) <= 15


def test_every_top_level_name_is_also_exported_by_its_subpackage() -> None:
    homes = [importlib.import_module(name) for name in PACKAGES if name != "bastion"]
    homes.append(importlib.import_module("bastion.app"))  # `create_app`
    for name in bastion.__all__:
        assert any(getattr(home, name, None) is getattr(bastion, name) for home in homes), name


def test_top_level_all_matches_the_reference_page() -> None:
    documented = {
        name
        for name in re.findall(r"^::: bastion\.(\w+)$", REFERENCE.read_text(), re.MULTILINE)
        if not isinstance(getattr(bastion, name, None), types.ModuleType)
    }
    assert documented == set(bastion.__all__) - {"__version__"}


def test_version_matches_the_package_metadata() -> None:
    from importlib.metadata import version

    assert bastion.__version__ == version("bastion")
