"""An app that uses no database runs under the plugin as it is: nothing is bound, nothing opened."""

from __future__ import annotations

import httpx
import pytest

from bastion import create_app
from bastion.core import BastionSettings
from bastion.testing import AppFactory, UowFactory
from bastion.web import Resources


@pytest.fixture
def bastion_app_factory() -> AppFactory:
    return lambda settings: create_app(settings)


async def test_an_app_without_a_database_is_served_and_opens_none(
    bastion_client: httpx.AsyncClient, bastion_resources: Resources
) -> None:
    assert (await bastion_client.get("/health")).status_code == 200
    assert bastion_resources.engine is None
    assert bastion_resources.sessionmaker is None


async def test_a_unit_of_work_on_an_app_without_a_database_is_a_clear_error(
    bastion_uow: UowFactory,
) -> None:
    with pytest.raises(RuntimeError, match="no database"):
        async with bastion_uow():
            pass


async def test_its_settings_still_get_fast_hashing(bastion_settings: BastionSettings) -> None:
    assert bastion_settings.password_hash_time_cost == 1
