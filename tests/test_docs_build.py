"""The documentation builds with `mkdocs build --strict`, as `make docs` runs it.

A new release of a docs plugin can turn what was silent into a strict-mode warning; this
test makes the suite fail then, not the first `make docs` of a newcomer.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("mkdocs") is None, reason="mkdocs is not installed (the docs extra)"
)


def test_the_docs_build_in_strict_mode_and_render_each_object_once(tmp_path: Path) -> None:
    site = tmp_path / "site"
    result = subprocess.run(  # noqa: S603  # this interpreter, fixed arguments
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr + result.stdout

    # An object rendered on two pages is two primary places for it: the build fails as soon
    # as some page links to it, so it fails here before. Render it once, link elsewhere.
    pages: dict[str, set[str]] = defaultdict(set)
    for page in site.rglob("*.html"):
        for anchor in re.findall(r'id="(bastion\.[\w.]+)"', page.read_text()):
            pages[anchor].add(str(page.relative_to(site)))
    assert not {anchor: where for anchor, where in pages.items() if len(where) > 1}
