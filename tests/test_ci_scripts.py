"""The Python that `.ci/run` feeds its interpreters runs against the installed package.

The wheel check at the end of `.ci/run` runs only in CI; a public name it uses that moved
would fail the whole run after the suite passed. Here it runs with every test run.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def _heredocs(script: Path) -> list[str]:
    """The bodies of the `<<'PY'` here-documents in `script`."""
    return re.findall(r"<<'PY'\n(.*?)\nPY\n", script.read_text(), flags=re.DOTALL)


def test_the_wheel_check_of_ci_run_runs_on_the_installed_package(tmp_path: Path) -> None:
    (check,) = _heredocs(ROOT / ".ci" / "run")
    # From an empty directory, as CI does, so the checkout's files are not what it imports.
    result = subprocess.run(
        [sys.executable, "-"],
        input=check,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("wheel imports:")
