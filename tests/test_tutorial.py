"""docs/tutorial.md: its todo service is small, imports little of bastion, and its tests pass."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bastion.cli._scaffold import SCRIPT_TEMPLATE, Scaffold

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


def run_in_project(tmp_path: Path, *arguments: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m ...` in a copy of the tutorial's project, as its developer would.

    A process of its own: the tutorial's tables live on `bastion.db.Base`, as the
    example's do, and one process cannot hold both.
    """
    project = tmp_path / "todo"
    if not project.exists():
        shutil.copytree(TUTORIAL, project, ignore=shutil.ignore_patterns("__pycache__"))
    environ = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **env}
    if "BASTION_DATABASE_URL" not in env:
        environ.pop("BASTION_DATABASE_URL", None)
    return subprocess.run(  # noqa: S603  # this interpreter, fixed arguments
        [sys.executable, "-m", *arguments],
        cwd=project,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_migrations_package_is_what_bastion_db_init_writes() -> None:
    migrations = TUTORIAL / "todo_app" / "migrations"
    assert (migrations / "env.py").read_text() == Scaffold(models=("todo_app.app",)).env_py()
    assert (migrations / "script.py.mako").read_text() == SCRIPT_TEMPLATE


def test_the_migration_matches_the_models(tmp_path: Path) -> None:
    database = {"BASTION_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'todo.db'}"}
    upgrade = run_in_project(tmp_path, "bastion.cli", "db", "upgrade", **database)
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
    check = run_in_project(tmp_path, "bastion.cli", "db", "check", **database)
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_tutorials_own_tests_pass(tmp_path: Path) -> None:
    # `pytest` in the project's directory, the plugin from its entry point. Stateless
    # tokens while the live-session check reads outside the test's transaction.
    result = run_in_project(
        tmp_path,
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    tests = 6
    expected = (
        f"{2 * tests} passed"
        if os.environ.get("BASTION_TEST_DATABASE_URL")
        else f"{tests} passed, {tests} skipped"
    )
    assert expected in result.stdout.splitlines()[-1], result.stdout
