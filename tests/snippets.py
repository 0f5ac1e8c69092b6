"""Load a docs snippet (docs/snippets/<name>.py) as a module, so tests run what the docs show."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SNIPPETS = Path(__file__).parents[1] / "docs" / "snippets"


def load_snippet(name: str) -> ModuleType:
    """Import `docs/snippets/<name>.py` fresh, registered as `snippet_<name>`."""
    spec = importlib.util.spec_from_file_location(f"snippet_{name}", SNIPPETS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered before running, so dataclasses and Pydantic models can resolve their module.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
