"""The settings hook: the test database, fast hashing, the overrides fixture and markers."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from bastion.core import BastionSettings
from bastion.testing import FAST_HASHING, TestDatabase

pytestmark = pytest.mark.bastion_settings(app_name="from-the-module", app_version="1.0")


@pytest.fixture
def bastion_settings_overrides() -> dict[str, object]:
    return {"app_name": "from-the-fixture"}


def test_the_settings_point_at_the_test_database_with_fast_hashing(
    bastion_settings: BastionSettings, bastion_database: TestDatabase
) -> None:
    assert bastion_settings.database_url.get_secret_value() == bastion_database.url
    assert bastion_settings.database_schema == bastion_database.schema
    for name, value in FAST_HASHING.items():
        assert getattr(bastion_settings, name) == value


@pytest.mark.bastion_settings(app_name="from-the-test")
def test_the_closest_marker_wins_over_the_module_and_the_fixture(
    bastion_settings: BastionSettings,
) -> None:
    assert (bastion_settings.app_name, bastion_settings.app_version) == ("from-the-test", "1.0")


def test_the_app_runs_on_the_settings_the_fixture_gives(
    bastion_app: FastAPI, bastion_settings: BastionSettings
) -> None:
    assert bastion_app.state.settings is bastion_settings
    assert bastion_app.title == "from-the-module"


def test_each_test_counts_its_rate_limits_under_a_prefix_of_its_own(
    bastion_settings: BastionSettings,
) -> None:
    assert bastion_settings.ratelimit_key_prefix.startswith("bastion-test-")
