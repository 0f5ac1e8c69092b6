"""The tiny host app's plugin configuration: its factory and its tables."""

from __future__ import annotations

import pytest
from sqlalchemy import MetaData

from bastion.testing import AppFactory
from tests.testing.hostapp import HostBase, create_host_app


@pytest.fixture
def bastion_app_factory() -> AppFactory:
    return create_host_app


@pytest.fixture
def bastion_metadata() -> MetaData:
    return HostBase.metadata


@pytest.fixture
def bastion_settings_overrides() -> dict[str, object]:
    # The live-session check still reads through the app's engine, outside the test's
    # transaction, where a test's sessions do not exist: stateless tokens until it runs on
    # the request's unit of work.
    return {"auth_stateless_tokens": True}
