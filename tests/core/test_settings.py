"""Settings: environment variables, defaults and the production refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bastion.core import DEFAULT_SECRET_KEY, BastionSettings, Environment

STRONG = "s" * 32


def test_reads_bastion_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASTION_ENVIRONMENT", "test")
    monkeypatch.setenv("BASTION_APP_NAME", "orders")
    monkeypatch.setenv("BASTION_API_PREFIX", "/api/v2")
    monkeypatch.setenv("BASTION_REDIS_URL", "redis://127.0.0.1:6379/3")
    settings = BastionSettings()
    assert settings.environment is Environment.TEST
    assert settings.app_name == "orders"
    assert settings.api_prefix == "/api/v2"
    assert settings.redis_url is not None
    assert settings.redis_url.get_secret_value() == "redis://127.0.0.1:6379/3"


def test_defaults_suit_development() -> None:
    settings = BastionSettings()
    assert settings.environment is Environment.DEVELOPMENT
    assert settings.database_url.get_secret_value().startswith("sqlite+aiosqlite://")
    assert settings.redis_url is None
    assert settings.docs_active
    assert not settings.json_logs


def test_secret_key_is_never_shown() -> None:
    settings = BastionSettings(secret_key="a-very-secret-value-nobody-should-see")
    assert "a-very-secret-value" not in repr(settings)
    assert "a-very-secret-value" not in str(settings.model_dump())


@pytest.mark.parametrize(
    "secret", [DEFAULT_SECRET_KEY, "", "short", "x" * 31], ids=["default", "empty", "short", "31"]
)
def test_production_refuses_weak_secret_naming_the_variable(secret: str) -> None:
    with pytest.raises(ValidationError, match="BASTION_SECRET_KEY"):
        BastionSettings(environment="production", secret_key=secret)


def test_production_refuses_the_default_secret_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BASTION_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="BASTION_SECRET_KEY"):
        BastionSettings()


def test_production_accepts_a_strong_secret_and_hides_docs() -> None:
    settings = BastionSettings(environment="production", secret_key=STRONG)
    assert settings.is_production
    assert not settings.docs_active
    assert settings.json_logs


def test_secret_length_counts_bytes_not_characters() -> None:
    # 16 two-byte characters are 32 bytes.
    assert BastionSettings(environment="production", secret_key="é" * 16).is_production


def test_production_refuses_docs_enabled_by_a_subclass_default() -> None:
    class Careless(BastionSettings):
        docs_enabled: bool | None = True

    with pytest.raises(ValidationError, match="BASTION_DOCS_ENABLED"):
        Careless(environment="production", secret_key=STRONG)


def test_production_serves_docs_when_told_explicitly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASTION_DOCS_ENABLED", "true")
    settings = BastionSettings(environment="production", secret_key=STRONG)
    assert settings.docs_active


@pytest.mark.parametrize("prefix", ["api", "/api/", "/a b", "/api?x=1"])
def test_bad_api_prefix_is_refused(prefix: str) -> None:
    with pytest.raises(ValidationError):
        BastionSettings(api_prefix=prefix)


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(ValidationError):
        BastionSettings(environment="staging")


def test_production_refuses_to_default_to_a_sqlite_file_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("BASTION_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValidationError, match="BASTION_DATABASE_URL") as caught:
        BastionSettings(environment="production", secret_key=STRONG)
    assert "bastion.db" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_production_takes_the_database_url_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BASTION_DATABASE_URL", "postgresql+asyncpg://db.internal/app")
    settings = BastionSettings(environment="production", secret_key=STRONG)
    assert settings.database_url.get_secret_value() == "postgresql+asyncpg://db.internal/app"


def test_production_takes_the_database_url_as_an_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BASTION_DATABASE_URL", raising=False)
    settings = BastionSettings(
        environment="production",
        secret_key=STRONG,
        database_url="sqlite+aiosqlite:////var/lib/app/app.db",  # type: ignore[arg-type]
    )
    assert settings.database_url.get_secret_value() == "sqlite+aiosqlite:////var/lib/app/app.db"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://app:pw-9xq@db.internal/app",
        "postgresql+psycopg://app:pw-9xq@db.internal/app",
        "postgresql+psycopg2://app:pw-9xq@db.internal/app",
        "sqlite:///app.db",
        "sqlite+pysqlite:///app.db",
        "mysql://db/app",
        "mysql+aiomysql://db/app",
    ],
)
def test_a_database_url_without_bastions_driver_is_refused_naming_the_two(url: str) -> None:
    # Other drivers are not installed with bastion, or not async, or miss the connect and
    # statement timeouts the engine gives asyncpg: the engine would fail later, with a
    # bare "No module named ...", or serve without the timeouts.
    with pytest.raises(ValidationError) as caught:
        BastionSettings(database_url=url)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "postgresql+asyncpg://" in message
    assert "sqlite+aiosqlite://" in message
    assert "pw-9xq" not in message


def test_development_still_defaults_to_a_local_sqlite_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BASTION_DATABASE_URL", raising=False)
    settings = BastionSettings()
    assert settings.database_url.get_secret_value() == "sqlite+aiosqlite:///./bastion.db"


_LIMIT_SETTINGS = (
    "BASTION_RATELIMIT_DEFAULT",
    "BASTION_AUTH_LOGIN_LIMIT",
    "BASTION_AUTH_ACCOUNT_LIMIT",
    "BASTION_AUTH_HASH_LIMIT",
)
# Before, a bad limit failed when the app started, or on the first login, as a bare parse
# error of `limits`; a zero budget refused every request, a second limit was dropped unsaid.
_BAD_LIMITS = [
    (variable, value, "one rate limit in `limits` notation")
    for variable in _LIMIT_SETTINGS
    for value in ("lots", "ten per fortnight", "0/minute", "5/minute;100/hour")
] + [(variable, "", "one rate limit") for variable in _LIMIT_SETTINGS[1:3]]


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        *_BAD_LIMITS,
        # A prefix without its leading `/` matches no path: the override would never apply.
        ("BASTION_BODY_LIMIT_ROUTES", '{"api/v1/uploads": 8192}', "path prefix starting with `/`"),
        ("BASTION_REQUEST_TIMEOUT_ROUTES", '{"api/v1/slow": 5}', "path prefix starting with `/`"),
        ("BASTION_RATELIMIT_EXEMPT_PATHS", '["health"]', "path prefix starting with `/`"),
        ("BASTION_BODY_LIMIT_ROUTES", '{"/api/v1/uploads": -1}', "greater than or equal to 0"),
        ("BASTION_REQUEST_TIMEOUT_ROUTES", '{"/api/v1/slow": -5}', "greater than or equal to 0"),
        # Refused when the settings load, not when the app is built or starts (from inside
        # `ipaddress`, SQLAlchemy or redis-py); a URL's password is never repeated.
        ("BASTION_TRUSTED_PROXIES", '["10.0.0.0/33"]', "CIDR notation"),
        ("BASTION_TRUSTED_PROXIES", '["proxy.internal"]', "CIDR notation"),
        ("BASTION_DATABASE_URL", "not a url with hunter2", "SQLAlchemy database URL"),
        ("BASTION_DATABASE_URL", "nosuchdb://user:hunter2@db/app", "SQLAlchemy database URL"),
        ("BASTION_REDIS_URL", "http://:hunter2@cache:6379/0", "`redis://` or `rediss://`"),
        ("BASTION_REDIS_URL", "cache:6379 hunter2", "`redis://` or `rediss://`"),
        ("BASTION_RATELIMIT_STORAGE_URL", "memcached://:hunter2@cache", "`memory://` or"),
    ],
)
def test_a_bad_value_is_refused_when_the_settings_load_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=expected) as refused:
        BastionSettings()
    assert refused.value.errors()[0]["loc"][0] == variable.removeprefix("BASTION_").lower()
    assert "hunter2" not in str(refused.value)


def test_an_empty_value_is_none_where_none_is_a_value(monkeypatch: pytest.MonkeyPatch) -> None:
    # The environment cannot unset a setting that has a default: empty is how it says "none".
    # An empty Redis URL used to count as set: the app then left its events for a worker.
    for variable in ("RATELIMIT_DEFAULT", "AUTH_HASH_LIMIT", "REDIS_URL", "RATELIMIT_STORAGE_URL"):
        monkeypatch.setenv(f"BASTION_{variable}", " ")
    settings = BastionSettings()
    assert settings.ratelimit_default is None
    assert settings.auth_hash_limit is None
    assert settings.redis_url is None
    assert settings.ratelimit_storage_url is None


def test_good_values_are_read_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable, value in {
        "RATELIMIT_DEFAULT": " 100 per minute ",
        "AUTH_LOGIN_LIMIT": "3/minute",
        "BODY_LIMIT_ROUTES": '{"/api/v1/uploads": 8192}',
        "REQUEST_TIMEOUT_ROUTES": '{"/api/v1/stream": 0}',
        "TRUSTED_PROXIES": '["10.0.0.1/8", " ::1 ", "192.0.2.7"]',
        "DATABASE_URL": "postgresql+asyncpg://app:pw@db.internal/app",
        "REDIS_URL": "rediss://:pw@cache.internal:6380/2",
        "RATELIMIT_STORAGE_URL": "memory://",
    }.items():
        monkeypatch.setenv(f"BASTION_{variable}", value)
    settings = BastionSettings()
    assert (settings.ratelimit_default, settings.auth_login_limit) == ("100 per minute", "3/minute")
    assert settings.body_limit_routes == {"/api/v1/uploads": 8192}
    assert settings.request_timeout_routes == {"/api/v1/stream": 0}
    assert settings.trusted_proxies == ["10.0.0.1/8", "::1", "192.0.2.7"]
    assert settings.database_url.get_secret_value() == "postgresql+asyncpg://app:pw@db.internal/app"
    assert settings.redis_url is not None
    assert settings.redis_url.get_secret_value() == "rediss://:pw@cache.internal:6380/2"
    assert settings.ratelimit_storage_url is not None
    assert settings.ratelimit_storage_url.get_secret_value() == "memory://"
