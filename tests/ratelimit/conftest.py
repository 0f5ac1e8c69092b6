"""Rate-limit fixtures: every backend the limiter runs on, with private keys."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from tests.edge import clear_redis_keys


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[dict[str, object]]:
    """Settings overrides selecting one storage backend, under a key prefix of its own."""
    prefix = f"bastion-test-{uuid.uuid4().hex}"
    if request.param == "memory":
        yield {"ratelimit_key_prefix": prefix}
        return
    url: str = request.getfixturevalue("redis_url")
    yield {"redis_url": url, "ratelimit_key_prefix": prefix}
    await clear_redis_keys(url, prefix)
