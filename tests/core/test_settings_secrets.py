"""Settings never show a secret: not in errors, not in reprs, not in start-up logs.

Secrets may come from files in the directory `BASTION_SECRETS_DIR` names.
"""

from __future__ import annotations

import logging
import socket
import traceback
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsError

from bastion import create_app
from bastion.core import DEFAULT_SECRET_KEY, BastionSettings
from notes_app.config import NotesSettings
from tests.conftest import serve

KEY_31 = "Qx7vR2pLm9Tz4Wc8Kd1Hs6Nb3Fg5Yj0"  # 31 bytes: one short
DB_PASSWORD = "pgPw6TqL9xZr2Vb"
REDIS_PASSWORD = "rdPw3MkJ7sWq1Ye"
LIMITER_PASSWORD = "rlPw8GhU4cVn5Xa"
SECRETS = (KEY_31, DB_PASSWORD, REDIS_PASSWORD, LIMITER_PASSWORD)
# Pydantic shortens a long input in its message, so a leak may be any part of a secret.
LEAK = 4


def _closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _urls(port: int) -> dict[str, str]:
    return {
        "database_url": f"postgresql+asyncpg://app:{DB_PASSWORD}@127.0.0.1:{port}/app",
        "redis_url": f"redis://:{REDIS_PASSWORD}@127.0.0.1:{port}/0",
        "ratelimit_storage_url": f"redis://:{LIMITER_PASSWORD}@127.0.0.1:{port}/1",
    }


def _error_text(error: ValidationError) -> str:
    """Everything a crash at start-up would print: message, repr and traceback."""
    return "\n".join([str(error), repr(error), *traceback.format_exception(error)])


def _assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        for start in range(len(secret) - LEAK + 1):
            part = secret[start : start + LEAK]
            assert part not in text, f"{part!r} of a secret is shown"


def test_a_refused_production_key_is_named_but_never_printed() -> None:
    with pytest.raises(ValidationError) as caught:
        BastionSettings(environment="production", secret_key=KEY_31)  # type: ignore[arg-type]
    text = _error_text(caught.value)
    assert "BASTION_SECRET_KEY" in text
    assert "input_value" not in text
    _assert_no_secret(text)


def test_a_refusal_next_to_database_urls_prints_no_password() -> None:
    with pytest.raises(ValidationError) as caught:
        BastionSettings(environment="production", secret_key=KEY_31, **_urls(6379))  # type: ignore[arg-type]
    _assert_no_secret(_error_text(caught.value))


def test_a_refusal_read_from_the_environment_prints_no_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BASTION_ENVIRONMENT", "production")
    monkeypatch.setenv("BASTION_SECRET_KEY", KEY_31)
    for name, url in _urls(6379).items():
        monkeypatch.setenv(f"BASTION_{name.upper()}", url)
    with pytest.raises(ValidationError) as caught:
        BastionSettings()
    _assert_no_secret(_error_text(caught.value))


def test_an_invalid_value_next_to_secrets_prints_no_secret() -> None:
    with pytest.raises(ValidationError) as caught:
        BastionSettings(secret_key=KEY_31, ready_timeout=-1, **_urls(6379))  # type: ignore[arg-type]
    text = _error_text(caught.value)
    assert "ready_timeout" in text
    _assert_no_secret(text)


def test_urls_are_secret_in_reprs_and_dumps() -> None:
    settings = BastionSettings(secret_key="s" * 32, **_urls(6379))  # type: ignore[arg-type]
    for text in (
        repr(settings),
        str(settings),
        str(settings.model_dump()),
        settings.model_dump_json(),
        repr(settings.database_url),
    ):
        _assert_no_secret(text)
    assert isinstance(settings.database_url, SecretStr)
    assert settings.database_url.get_secret_value().endswith(f":{DB_PASSWORD}@127.0.0.1:6379/app")
    assert settings.redis_url is not None
    assert REDIS_PASSWORD in settings.redis_url.get_secret_value()
    assert settings.ratelimit_storage_url is not None
    assert LIMITER_PASSWORD in settings.ratelimit_storage_url.get_secret_value()


async def test_start_up_and_outage_logs_show_no_password(caplog: pytest.LogCaptureFixture) -> None:
    # Every service unreachable: the engine, the Redis clients and the readiness
    # checks all log what went wrong, and none of it may carry a password.
    settings = BastionSettings(
        environment="test",
        secret_key="s" * 32,
        configure_logging=False,
        database_echo=True,
        redis_socket_timeout=0.5,
        **_urls(_closed_port()),  # type: ignore[arg-type]
    )
    caplog.set_level(logging.DEBUG)
    app = create_app(settings)
    async with serve(app) as client:
        ready = await client.get("/ready")
        await client.get("/health")
    assert ready.status_code == 503
    assert caplog.records, "the outage was logged"
    lines = [caplog.text]
    for record in caplog.records:
        lines.append(record.getMessage())
        if record.exc_info:
            lines.extend(traceback.format_exception(*record.exc_info))
    _assert_no_secret("\n".join(lines))


# --- secrets read from files (BASTION_SECRETS_DIR) ---

FILE_KEY = "file-key-Hq2mV7xLp4Nw9Rt6Yc3Bz8Kd5Fs1Gj0A"  # 40 bytes


def _secrets_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]) -> Path:
    directory = tmp_path / "secrets"
    directory.mkdir()
    for name, value in files.items():
        # Secrets written with `echo` or by an orchestrator often end with a newline.
        (directory / name).write_text(f"{value}\n")
    monkeypatch.setenv("BASTION_SECRETS_DIR", str(directory))
    # The suite's default database comes from the environment, which would win.
    monkeypatch.delenv("BASTION_DATABASE_URL", raising=False)
    return directory


def test_production_settings_read_the_key_and_database_url_from_the_secrets_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _urls(5432)["database_url"]
    _secrets_dir(tmp_path, monkeypatch, {"secret_key": FILE_KEY, "database_url": url})
    monkeypatch.setenv("BASTION_ENVIRONMENT", "production")
    settings = BastionSettings()
    assert settings.secret_key.get_secret_value() == FILE_KEY
    assert settings.database_url.get_secret_value() == url
    # A database URL from a file is as explicit as one from the environment.
    assert "database_url" in settings.model_fields_set


def test_a_host_settings_subclass_reads_the_same_secrets_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _secrets_dir(tmp_path, monkeypatch, {"SECRET_KEY": FILE_KEY, "redis_url": "redis://r:6379/0"})
    settings = NotesSettings()
    assert settings.secret_key.get_secret_value() == FILE_KEY  # file names ignore case
    assert settings.redis_url is not None
    assert settings.redis_url.get_secret_value() == "redis://r:6379/0"


def test_the_environment_and_arguments_win_over_the_secrets_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _secrets_dir(tmp_path, monkeypatch, {"secret_key": FILE_KEY, "app_name": "from-a-file"})
    monkeypatch.setenv("BASTION_SECRET_KEY", "s" * 32)
    assert BastionSettings().secret_key.get_secret_value() == "s" * 32
    assert BastionSettings(app_name="from-an-argument").app_name == "from-an-argument"
    assert BastionSettings().app_name == "from-a-file"


def test_no_secrets_dir_reads_no_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "secret_key").write_text(FILE_KEY)
    for unset in ("", None):
        if unset is None:
            monkeypatch.delenv("BASTION_SECRETS_DIR", raising=False)
        else:
            monkeypatch.setenv("BASTION_SECRETS_DIR", unset)
        assert BastionSettings().secret_key.get_secret_value() == DEFAULT_SECRET_KEY


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_a_secrets_dir_that_is_not_a_directory_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    path = tmp_path / "secrets"
    if kind == "file":
        path.write_text(FILE_KEY)
    monkeypatch.setenv("BASTION_SECRETS_DIR", str(path))
    with pytest.raises(SettingsError) as caught:
        BastionSettings()
    message = str(caught.value)
    assert message.startswith(f"BASTION_SECRETS_DIR names '{path}', which is not a directory")
    assert FILE_KEY not in message


def test_a_refused_secret_from_a_file_is_named_but_never_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _secrets_dir(tmp_path, monkeypatch, {"secret_key": KEY_31, **_urls(5432)})
    monkeypatch.setenv("BASTION_ENVIRONMENT", "production")
    with pytest.raises(ValidationError) as caught:
        BastionSettings()
    text = _error_text(caught.value)
    assert "BASTION_SECRET_KEY" in text
    _assert_no_secret(text)


def test_secrets_from_files_are_hidden_in_reprs_and_dumps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _secrets_dir(tmp_path, monkeypatch, {"secret_key": KEY_31, **_urls(5432)})
    settings = BastionSettings()
    assert settings.secret_key.get_secret_value() == KEY_31
    for text in (repr(settings), str(settings.model_dump()), settings.model_dump_json()):
        _assert_no_secret(text)
