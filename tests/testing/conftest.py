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
