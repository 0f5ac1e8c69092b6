"""The container files keep their promises, checked without Docker.

Dockerfile: two stages, a slim base, wheels only in the final stage, a non-root user, a
health check, `bastion serve` as PID 1. .dockerignore: nothing local, cached or secret in the
build context. compose.yaml: migrations as a one-shot step before the app, readiness on
/ready, secrets as files that pass production's checks.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
import yaml
from deploy.make_secrets import make_secrets
from fastapi import FastAPI

from bastion.cli._serve import ServeOptions, uvicorn_options
from bastion.core import BastionSettings
from notes_app.config import NotesSettings

ROOT = Path(__file__).parents[1]
Instruction = tuple[str, str]


def _instructions(text: str) -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined and comments dropped."""
    instructions: list[Instruction] = []
    current = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        keyword, _, arguments = (current + stripped).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        current = ""
    return instructions


def _stages() -> list[list[Instruction]]:
    stages: list[list[Instruction]] = []
    for keyword, arguments in _instructions((ROOT / "Dockerfile").read_text()):
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, arguments))
    return stages


def _final_stage() -> list[Instruction]:
    return _stages()[-1]


def _arguments(stage: list[Instruction], keyword: str) -> list[str]:
    return [arguments for key, arguments in stage if key == keyword]


def _compose() -> dict[str, dict[str, dict[str, object]]]:
    document: dict[str, dict[str, dict[str, object]]] = yaml.safe_load(
        (ROOT / "compose.yaml").read_text()
    )
    return document


def _service(name: str) -> dict[str, object]:
    return _compose()["services"][name]


def test_the_image_is_built_in_two_stages_on_a_slim_python() -> None:
    stages = _stages()
    assert len(stages) >= 2
    bases = [stage[0][1] for stage in stages]
    assert all(re.match(r"python:\S*-slim(-\S+)? AS \w+$", base) for base in bases), bases
    assert bases[0].endswith("AS builder")
    assert bases[-1].endswith("AS runtime")


def test_the_final_stage_takes_only_the_wheels_from_the_builder() -> None:
    final = _final_stage()
    copies = _arguments(final, "COPY")
    assert not [copy for copy in copies if "--from" in copy], "copy nothing else from the builder"
    installs = [run for run in _arguments(final, "RUN") if "pip install" in run]
    assert len(installs) == 1
    install = installs[0]
    assert "--mount=type=bind,from=builder,source=/wheels,target=/wheels" in install
    assert "--no-index" in install
    assert "/wheels/*.whl" in install
    # Nothing is installed at run time: pip itself goes.
    assert "pip uninstall" in install
    assert "pip" in install.split("pip uninstall", 1)[1].split()


def test_the_final_stage_installs_no_build_tools_and_no_dev_or_docs_extras() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert not re.search(r"\[[^\]]*\b(dev|docs|bench)\b[^\]]*\]", text), "dev extras installed"
    runs = " ".join(_arguments(_final_stage(), "RUN"))
    for tool in ("apt-get", "apk ", "gcc", "build-essential", "make ", "pip wheel", "git "):
        assert tool not in runs, f"{tool.strip()} in the final stage"


def test_the_final_stage_runs_as_a_non_root_user() -> None:
    final = _final_stage()
    users = _arguments(final, "USER")
    assert users, "no USER in the final stage"
    user, _, group = users[-1].partition(":")
    assert user not in ("root", "0")
    assert group not in ("root", "0")
    keywords = [keyword for keyword, _ in final]
    last_user = len(keywords) - 1 - keywords[::-1].index("USER")
    assert "RUN" not in keywords[last_user:], "nothing runs as root after USER"


def test_the_final_stage_checks_health_and_serves_the_app_with_bastion_serve() -> None:
    final = _final_stage()
    (healthcheck,) = _arguments(final, "HEALTHCHECK")
    assert '"/usr/local/bin/healthcheck", "/health"]' in healthcheck
    assert any(
        "deploy/healthcheck.py /usr/local/bin/healthcheck" in c for c in _arguments(final, "COPY")
    )
    assert _arguments(final, "STOPSIGNAL") == ["SIGTERM"]
    (command,) = _arguments(final, "CMD")
    # `exec`: the server is PID 1 and receives SIGTERM itself, not a shell.
    assert 'exec bastion serve \\"$APP\\" --host 0.0.0.0' in command
    environment = " ".join(_arguments(final, "ENV"))
    assert "APP=${APP_PACKAGE}.main:app" in environment
    assert "MIGRATIONS=${APP_PACKAGE}:migrations" in environment
    assert "BASTION_ENVIRONMENT=production" in environment
    assert "ARG APP_PACKAGE=notes_app" in (ROOT / "Dockerfile").read_text()


def test_the_example_exposes_a_module_level_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASTION_CONFIGURE_LOGGING", "false")
    import notes_app.main

    app = notes_app.main.app
    assert isinstance(app, FastAPI)
    assert notes_app.main.app is app, "built once"
    assert isinstance(app.state.settings, NotesSettings)
    with pytest.raises(AttributeError):
        _ = notes_app.main.nothing_here


def test_dockerignore_keeps_local_cached_and_secret_files_out_of_the_build() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for pattern in (
        ".git",
        ".venv",
        "**/__pycache__",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        "deploy/secrets",
        ".env",
    ):
        assert pattern in ignored, f"{pattern} reaches the build context"
    for needed in ("src", "pyproject.toml", "README.md", "LICENSE", "examples/notes", "deploy"):
        assert needed not in ignored, f"the build needs {needed}"


def test_compose_migrates_once_to_completion_before_the_app_starts() -> None:
    migrations = _service("migrations")
    command = " ".join(migrations["command"])  # type: ignore[arg-type]
    assert "bastion db upgrade --migrations" in command
    assert migrations["restart"] == "no"
    assert migrations["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    app = _service("app")
    assert app["depends_on"] == {
        "migrations": {"condition": "service_completed_successfully"},
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert "command" not in app, "the app runs the image's `bastion serve`, not migrations"


def test_compose_runs_workers_for_the_jobs_after_the_migrations() -> None:
    worker = _service("worker")
    assert worker["command"] == ["sh", "-c", 'exec bastion worker "$$APP"']
    assert worker["depends_on"] == _service("app")["depends_on"]
    assert worker["healthcheck"] == {"disable": True}
    assert worker["environment"]["BASTION_SECRETS_DIR"] == "/run/secrets"  # type: ignore[index]
    assert "redis_url" in worker["secrets"]  # type: ignore[operator]


def test_compose_readiness_is_wired_to_ready() -> None:
    healthcheck = _service("app")["healthcheck"]
    assert healthcheck["test"] == ["CMD", "python", "/usr/local/bin/healthcheck", "/ready"]  # type: ignore[index]


def test_compose_gives_secrets_as_files_never_as_environment() -> None:
    compose = _compose()
    for name in ("app", "migrations", "worker"):
        service = compose["services"][name]
        environment: dict[str, str] = service["environment"]  # type: ignore[assignment]
        assert environment["BASTION_ENVIRONMENT"] == "production"
        assert environment["BASTION_SECRETS_DIR"] == "/run/secrets"
        assert {"secret_key", "database_url"} <= set(service["secrets"])  # type: ignore[arg-type]
        leaked = {"BASTION_SECRET_KEY", "BASTION_DATABASE_URL", "BASTION_REDIS_URL"}
        assert not leaked & set(environment)
    assert "POSTGRES_PASSWORD" not in compose["services"]["postgres"]["environment"]  # type: ignore[operator]
    for secret in compose["secrets"].values():
        assert str(secret["file"]).startswith("./deploy/secrets/")


def _compose_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> NotesSettings:
    """The app's settings as the compose file gives them, secrets made by make_secrets."""
    make_secrets(tmp_path / "secrets")
    environment: dict[str, str] = _service("app")["environment"]  # type: ignore[assignment]
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("BASTION_SECRETS_DIR", str(tmp_path / "secrets"))
    monkeypatch.delenv("BASTION_DATABASE_URL", raising=False)
    return NotesSettings()


def test_compose_settings_and_made_secrets_pass_the_production_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _compose_settings(tmp_path, monkeypatch)
    secrets = tmp_path / "secrets"
    assert settings.is_production
    assert settings.trusted_hosts == ["localhost", "127.0.0.1"]
    postgres_password = (secrets / "postgres_password").read_text().strip()
    assert settings.database_url.get_secret_value() == (
        f"postgresql+asyncpg://notes:{postgres_password}@postgres:5432/notes"
    )
    assert settings.redis_url is not None
    assert (secrets / "redis_password").read_text().strip() in settings.redis_url.get_secret_value()
    # The app's graceful shutdown ends before compose's grace period does.
    options = uvicorn_options(ServeOptions(app="a:b"), settings, cpus=1, installed=lambda m: True)
    grace = int(str(_service("app")["stop_grace_period"]).removesuffix("s"))
    assert options["timeout_graceful_shutdown"] < grace


def test_make_secrets_keeps_what_exists_and_shields_the_directory(tmp_path: Path) -> None:
    directory = tmp_path / "secrets"
    make_secrets(directory)
    first = {path.name: path.read_text() for path in directory.iterdir()}
    assert set(first) == {
        "secret_key",
        "postgres_password",
        "redis_password",
        "database_url",
        "redis_url",
    }
    (directory / "database_url").unlink()
    make_secrets(directory)
    assert {path.name: path.read_text() for path in directory.iterdir()} == first
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    key = BastionSettings(secret_key=first["secret_key"].strip())  # type: ignore[arg-type]
    assert len(key.secret_key.get_secret_value()) >= 32
