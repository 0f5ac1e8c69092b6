"""Redis from BASTION_TEST_REDIS_URL: an app on it, with counters of its own per test."""

from __future__ import annotations

import httpx
import pytest

from bastion.core import BastionSettings

pytestmark = pytest.mark.redis


@pytest.fixture
def bastion_settings_overrides(bastion_redis_url: str) -> dict[str, object]:
    return {"redis_url": bastion_redis_url}


async def test_an_app_on_the_test_redis_checks_it_when_asked_if_ready(
    bastion_client: httpx.AsyncClient, bastion_settings: BastionSettings, bastion_redis_url: str
) -> None:
    assert bastion_settings.redis_url is not None
    assert bastion_settings.redis_url.get_secret_value() == bastion_redis_url
    ready = await bastion_client.get("/ready")
    assert ready.status_code == 200, ready.text
    assert "redis" in ready.text


@pytest.mark.bastion_settings(ratelimit_default="2/minute")
@pytest.mark.parametrize("attempt", [1, 2])
async def test_a_tests_redis_budget_starts_full_whatever_ran_before(
    bastion_client: httpx.AsyncClient, attempt: int
) -> None:
    statuses = [(await bastion_client.get("/api/v1/bookmarks/count")).status_code for _ in range(3)]
    assert statuses == [200, 200, 429], attempt
