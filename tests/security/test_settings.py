"""The security settings: defaults, environment parsing and the checks that refuse weak values."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from bastion.core import BastionSettings, JwtAlgorithm

STRONG = "s" * 48


def test_the_defaults_are_the_documented_ones() -> None:
    settings = BastionSettings(environment="test")
    assert (
        settings.password_hash_time_cost,
        settings.password_hash_memory_cost,
        settings.password_hash_parallelism,
        settings.password_hash_concurrency,
    ) == (3, 65536, 4, None)
    assert (settings.password_min_length, settings.password_max_length) == (12, 128)
    assert settings.jwt_algorithm is JwtAlgorithm.HS256
    assert settings.access_token_ttl == 15 * 60
    assert settings.mfa_token_ttl == 5 * 60
    assert settings.refresh_token_ttl == 14 * 86400
    assert settings.refresh_token_absolute_ttl == 30 * 86400


def test_jwt_keys_are_read_from_the_environment_as_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BASTION_JWT_KEY_ID", "2026-02")
    monkeypatch.setenv("BASTION_JWT_SIGNING_KEY", "n" * 40)
    monkeypatch.setenv("BASTION_JWT_VERIFICATION_KEYS", json.dumps({"2026-01": "o" * 40}))
    settings = BastionSettings(environment="test")
    assert settings.jwt_signing_key is not None
    assert settings.jwt_signing_key.get_secret_value() == "n" * 40
    assert settings.jwt_verification_keys["2026-01"].get_secret_value() == "o" * 40
    assert "o" * 40 not in repr(settings)


def test_a_production_configuration_with_strong_choices_is_accepted() -> None:
    settings = BastionSettings(
        environment="production",
        secret_key=STRONG,
        jwt_signing_key="j" * 32,
        jwt_verification_keys={"old": "o" * 32},
    )
    assert settings.is_production


@pytest.mark.parametrize(
    ("changes", "variable"),
    [
        ({"password_hash_memory_cost": 8192}, "BASTION_PASSWORD_HASH_MEMORY_COST"),
        ({"password_hash_time_cost": 1}, "BASTION_PASSWORD_HASH_TIME_COST"),
        ({"password_min_length": 6}, "BASTION_PASSWORD_MIN_LENGTH"),
        ({"jwt_signing_key": "short"}, r"BASTION_JWT_SIGNING_KEY must be at least 32 bytes"),
        ({"jwt_verification_keys": {"old": "short"}}, r"BASTION_JWT_VERIFICATION_KEYS\['old'\]"),
    ],
)
def test_production_refuses_weak_security_settings(
    changes: dict[str, object], variable: str
) -> None:
    with pytest.raises(ValidationError, match=variable):
        BastionSettings(environment="production", secret_key=STRONG, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("environment", ["development", "test", "production"])
@pytest.mark.parametrize(
    ("changes", "variable"),
    [
        ({"jwt_algorithm": "RS256"}, "BASTION_JWT_SIGNING_KEY"),
        ({"jwt_algorithm": "EdDSA"}, "BASTION_JWT_SIGNING_KEY"),
        ({"password_min_length": 20, "password_max_length": 16}, "BASTION_PASSWORD_MIN_LENGTH"),
        ({"password_hash_parallelism": 8, "password_hash_memory_cost": 32}, "MEMORY_COST"),
        ({"refresh_token_absolute_ttl": 60, "refresh_token_ttl": 120}, "ABSOLUTE_TTL"),
        ({"jwt_verification_keys": {"default": "x" * 32}}, "BASTION_JWT_VERIFICATION_KEYS"),
    ],
)
def test_inconsistent_security_settings_are_refused_everywhere(
    environment: str, changes: dict[str, object], variable: str
) -> None:
    with pytest.raises(ValidationError, match=variable):
        BastionSettings(environment=environment, secret_key=STRONG, **changes)  # type: ignore[arg-type]


def test_weak_choices_are_allowed_outside_production() -> None:
    settings = BastionSettings(
        environment="development",
        password_hash_time_cost=1,
        password_hash_memory_cost=1024,
        password_min_length=4,
        jwt_signing_key="short",
    )
    assert settings.password_min_length == 4


def test_algorithms_know_whether_they_are_symmetric() -> None:
    assert JwtAlgorithm.HS256.is_symmetric
    assert not JwtAlgorithm.RS256.is_symmetric
    assert not JwtAlgorithm.EDDSA.is_symmetric
