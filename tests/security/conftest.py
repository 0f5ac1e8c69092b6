"""Fixtures for the security primitives: fast argon2 settings and a settable clock."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bastion.core import BastionSettings
from tests.conftest import TEST_SECRET

#: 2023-11-14T22:13:20Z, a fixed instant for time-based tests.
T0 = 1_700_000_000


@dataclass
class FakeClock:
    """A clock that stays where a test puts it."""

    now: float = T0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fast_settings() -> BastionSettings:
    """Test settings with cheap argon2 parameters, so hashing tests stay fast."""
    return BastionSettings(
        environment="test",
        secret_key=TEST_SECRET,
        configure_logging=False,
        app_name="notesapp",
        password_hash_time_cost=1,
        password_hash_memory_cost=1024,
        password_hash_parallelism=1,
    )
