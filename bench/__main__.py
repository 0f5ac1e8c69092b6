"""Run every benchmark module's `main()` in turn: `python -m bench`."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path


def main() -> None:
    package = Path(__file__).parent
    for module in sorted(pkgutil.iter_modules([str(package)]), key=lambda m: m.name):
        if module.name.startswith("_"):
            continue
        bench = importlib.import_module(f"bench.{module.name}")
        runner = getattr(bench, "main", None)
        if callable(runner):
            print(f"== bench.{module.name} ==", flush=True)
            runner()


if __name__ == "__main__":
    main()
