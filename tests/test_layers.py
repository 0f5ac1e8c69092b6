"""The layers: which bastion package may import which, and no import cycle between packages.

Only imports that run count: an import under `if TYPE_CHECKING:` is for the type
checker alone and cannot form a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

import bastion

ROOT = Path(bastion.__file__).parent


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(node: ast.AST) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        yield node.module
    children = node.orelse if isinstance(node, ast.If) and _is_type_checking(node) else None
    for child in ast.iter_child_nodes(node) if children is None else children:
        yield from _runtime_imports(child)


def _public(name: str) -> str:
    """A top-level module's name without its private underscore (`_resources` -> `resources`)."""
    return name if name.startswith("__") else name.lstrip("_")


def _package(path: Path) -> str:
    """`core` for `bastion/core/...`, `resources` for `bastion/_resources.py`."""
    parts = path.relative_to(ROOT).parts
    return _public(parts[0] if len(parts) > 1 else path.stem)


def _graph() -> dict[str, set[str]]:
    """Each bastion package (or top-level module) -> the bastion packages it imports."""
    graph: dict[str, set[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        source = _package(path)
        targets = graph.setdefault(source, set())
        for module in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            parts = module.split(".")
            if parts[0] == "bastion" and len(parts) > 1 and _public(parts[1]) != source:
                targets.add(_public(parts[1]))
    return graph


GRAPH = _graph()
# package -> the only bastion packages it may import (besides itself)
ALLOWED = {
    "core": set(),
    "errors": {"core"},
    "resources": set(),
    "db": {"core", "errors"},
    "security": {"core", "errors"},
    "ratelimit": {"core", "errors", "resources"},
}
# package -> bastion packages it must never import
FORBIDDEN = {
    "middleware": {"web", "db", "auth", "app"},
    "web": {"middleware", "app"},
}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_lower_layers_import_only_the_layers_below_them(package: str) -> None:
    assert GRAPH[package] <= ALLOWED[package], f"{package} imports {GRAPH[package]}"


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_middleware_and_web_do_not_import_each_other(package: str) -> None:
    assert not GRAPH[package] & FORBIDDEN[package], f"{package} imports {GRAPH[package]}"


def test_only_the_top_level_imports_the_app_factory() -> None:
    importers = {package for package, targets in GRAPH.items() if "app" in targets}
    assert importers == {"__init__"}


def test_the_packages_import_each_other_without_a_cycle() -> None:
    try:
        TopologicalSorter(GRAPH).prepare()
    except CycleError as exc:
        pytest.fail(f"import cycle between bastion packages: {exc.args[1]}")


def test_the_check_sees_a_cycle_and_skips_type_only_imports() -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from bastion.web import Uow\n"
        "else:\n    import bastion.db\n"
        "def f():\n    from bastion.errors import BastionError\n"
    )
    assert list(_runtime_imports(tree)) == ["typing", "bastion.db", "bastion.errors"]
    with pytest.raises(CycleError):
        TopologicalSorter({"middleware": {"web"}, "web": {"middleware"}}).prepare()
