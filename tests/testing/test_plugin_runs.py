"""The plugin seen from a whole pytest run, loaded from its entry point as a host gets it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

INI = """
[pytest]
anyio_mode = auto
bastion_app_factory = tests.testing.hostapp:create_host_app
bastion_databases = sqlite
addopts = -p no:cacheprovider
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(INI)
    pytester.makeconftest(
        "import pytest\n"
        "from tests.testing.hostapp import HostBase\n"
        "@pytest.fixture\n"
        "def bastion_metadata():\n"
        "    return HostBase.metadata\n"
    )
    return pytester


def test_a_run_that_uses_no_fixture_of_it_is_left_alone(project: pytest.Pytester) -> None:
    project.makepyfile(test_plain="def test_plain():\n    assert True\n")
    result = project.runpytest()
    result.assert_outcomes(passed=1)
    assert not list(project.path.rglob("bastion_test_*.db"))


def test_database_tests_run_once_per_configured_backend(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_db=(
            "async def test_one(bastion_client):\n"
            "    assert (await bastion_client.get('/health')).status_code == 200\n"
        )
    )
    result = project.runpytest("-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_one*sqlite* PASSED*"])


def test_fast_hashing_is_refused_for_production_settings(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_prod=(
            "import pytest\n"
            "@pytest.mark.bastion_settings(environment='production')\n"
            "async def test_prod(bastion_app):\n"
            "    pass\n"
        )
    )
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*refuses fast password hashing*"])


def test_an_unknown_setting_in_a_marker_is_an_error(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_typo=(
            "import pytest\n"
            "@pytest.mark.bastion_settings(auth_cookie_mod=True)\n"
            "async def test_typo(bastion_app):\n"
            "    pass\n"
        )
    )
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no settings named auth_cookie_mod*"])


def test_without_an_app_factory_the_error_says_how_to_give_one(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\nanyio_mode = auto\nbastion_databases = sqlite\n")
    pytester.makepyfile(test_app="async def test_app(bastion_app):\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*bastion_app_factory = module:callable*"])


def test_an_unknown_backend_is_a_usage_error(project: pytest.Pytester) -> None:
    project.makepyfile(test_db="async def test_db(bastion_app):\n    pass\n")
    result = project.runpytest("-o", "bastion_databases=mysql")
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*bastion_databases*mysql*"])


def test_the_documented_host_setup_runs_as_documented(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # docs/testing.md shows these files; here they run as a host's own suite would.
    # Stateless tokens while the live-session check reads outside the request's transaction.
    snippets = Path(__file__).parents[2] / "docs" / "snippets" / "testing"
    for name in ("pyproject.toml", "conftest.py", "test_notes.py"):
        (pytester.path / name).write_text((snippets / name).read_text())
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-o", "bastion_databases=sqlite"
    )
    result.assert_outcomes(passed=6)


def test_an_app_not_built_by_create_app_is_refused_clearly(project: pytest.Pytester) -> None:
    project.makeconftest(
        "import pytest\n"
        "from fastapi import FastAPI\n"
        "@pytest.fixture\n"
        "def bastion_app_factory():\n"
        "    return lambda settings: FastAPI()\n"
    )
    project.makepyfile(test_app="async def test_app(bastion_app):\n    pass\n")
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*not built by bastion's create_app*"])


def _run_without_httpx(path: Path) -> subprocess.CompletedProcess[str]:
    # httpx is not one of bastion's dependencies (the `testing` extra brings it):
    # `None` in `sys.modules` makes every `import httpx` fail, as in such an environment.
    code = (
        "import sys; sys.modules['httpx'] = None; import pytest; "
        "raise SystemExit(pytest.main(['-p', 'no:cacheprovider', '-q']))"
    )
    root = str(Path(__file__).parents[2])  # where `tests.testing.hostapp` imports from
    return subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-c", code],
        cwd=path,
        env={**os.environ, "PYTHONPATH": root},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_httpx_a_run_that_uses_no_fixture_of_it_still_passes(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_plain="def test_plain():\n    assert True\n")
    result = _run_without_httpx(project.path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_without_httpx_a_client_fixture_says_what_to_install(project: pytest.Pytester) -> None:
    project.makepyfile(test_client="async def test_client(bastion_client):\n    pass\n")
    result = _run_without_httpx(project.path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "bastion[testing]" in result.stdout
