"""docs/tutorial.md: its todo service is small, imports little of bastion, and its tests pass."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

TUTORIAL = Path(__file__).parents[1] / "docs" / "snippets" / "tutorial"
APP = TUTORIAL / "todo_app" / "app.py"
MAX_APP_LINES = 70
# `bastion` for the app, `bastion.testing` for its tests (docs/tutorial.md says so).
BASTION_MODULES = {"bastion", "bastion.testing"}


def code_lines(path: Path) -> int:
    """Non-blank lines that are not comments."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return sum(1 for line in lines if line.strip() and not line.lstrip().startswith("#"))


def bastion_imports(path: Path) -> set[str]:
    """The bastion modules a file imports from."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            modules.add(node.module)
    return {module for module in modules if module.split(".")[0] == "bastion"}


def test_the_app_code_stays_within_70_lines() -> None:
    # Models, schemas, repository, service, router and the app: everything but
    # the migration and the tests.
    app_files = [
        path
        for path in (TUTORIAL / "todo_app").rglob("*.py")
        if "migrations" not in path.parts and path.name != "__init__.py"
    ]
    assert app_files == [APP]
    assert code_lines(APP) <= MAX_APP_LINES


def test_the_tutorial_imports_from_two_bastion_modules_at_most() -> None:
    used = set().union(*(bastion_imports(path) for path in [APP, *TUTORIAL.glob("tests/*.py")]))
    assert used == BASTION_MODULES


def test_the_tutorials_own_tests_pass(tmp_path: Path) -> None:
    # Run as the host project runs them: `pytest` in the project's directory, the
    # plugin from its entry point, in a process of its own (the tutorial's tables
    # live on `bastion.db.Base`, as the example's do).
    project = tmp_path / "todo"
    shutil.copytree(TUTORIAL, project, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("BASTION_DATABASE_URL", None)
    result = subprocess.run(  # this interpreter, fixed arguments
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    tests = 6
    expected = (
        f"{2 * tests} passed"
        if os.environ.get("BASTION_TEST_DATABASE_URL")
        else f"{tests} passed, {tests} skipped"
    )
    assert expected in result.stdout.splitlines()[-1], result.stdout
