"""The public surface: sorted `__all__`s that match the API reference page."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

import bastion

REFERENCE = Path(__file__).parents[1] / "docs" / "reference.md"
PACKAGES = [
    "bastion",
    "bastion.auth",
    "bastion.core",
    "bastion.errors",
    "bastion.db",
    "bastion.idempotency",
    "bastion.jobs",
    "bastion.security",
    "bastion.web",
    "bastion.middleware",
    "bastion.observability",
    "bastion.testing",
]


def _isort_key(name: str) -> tuple[int, str]:
    # ruff's RUF022 order: CONSTANTS, then Classes, then functions.
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_importable(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported, key=_isort_key), f"{name}.__all__ is not sorted"
    assert len(exported) == len(set(exported))
    for symbol in exported:
        assert hasattr(module, symbol), f"{name}.{symbol} is exported but missing"


def test_top_level_all_matches_the_reference_page() -> None:
    documented = set(re.findall(r"^::: bastion\.(\w+)$", REFERENCE.read_text(), re.MULTILINE))
    assert documented == set(bastion.__all__) - {"__version__"}


def test_version_matches_the_package_metadata() -> None:
    from importlib.metadata import version

    assert bastion.__version__ == version("bastion")
