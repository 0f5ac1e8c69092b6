"""Settings never show a secret: not in errors, not in reprs, not in start-up logs."""

from __future__ import annotations

import logging
import socket
import traceback

import pytest
from pydantic import SecretStr, ValidationError

from bastion import BastionSettings, create_app
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
