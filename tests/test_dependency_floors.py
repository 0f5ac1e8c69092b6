"""The declared dependency floors and the lowest-versions CI run (`.ci/lowest.txt`) agree."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).parents[1]
LOWEST = ROOT / ".ci" / "lowest.txt"


def _requirements(pyproject: Path) -> list[str]:
    data = tomllib.loads(pyproject.read_text())
    project = data["project"]
    extras = project.get("optional-dependencies", {}).values()
    return [
        *project.get("dependencies", []),
        *(requirement for extra in extras for requirement in extra),
        *data["build-system"]["requires"],
    ]


def _floors() -> dict[str, Version]:
    floors: dict[str, Version] = {}
    for pyproject in (ROOT / "pyproject.toml", ROOT / "examples" / "notes" / "pyproject.toml"):
        for text in _requirements(pyproject):
            requirement = Requirement(text)
            name = canonicalize_name(requirement.name)
            if name in ("bastion", "notes-app"):
                continue
            lower = [Version(s.version) for s in requirement.specifier if s.operator == ">="]
            assert len(lower) == 1, f"{pyproject.name}: {text!r} needs exactly one `>=` floor"
            assert floors.setdefault(name, lower[0]) == lower[0], f"{name}: two different floors"
    return floors


def _pins() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in LOWEST.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, version = line.partition("==")
        assert version, f"{line!r}: pin with `==`"
        pins[canonicalize_name(name)] = Version(version)
    return pins


def test_the_lowest_versions_run_pins_exactly_the_declared_floors() -> None:
    assert _pins() == _floors()
