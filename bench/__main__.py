"""Run every benchmark module in bench/ in turn (`python -m bench [name ...]`)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    here = Path(__file__).parent
    names = sorted(
        info.name for info in pkgutil.iter_modules([str(here)]) if not info.name.startswith("_")
    )
    selected = argv or names
    for name in selected:
        module = importlib.import_module(f"bench.{name}")
        print(f"\n=== bench.{name} ===", flush=True)
        module.main()


if __name__ == "__main__":
    main(sys.argv[1:])
