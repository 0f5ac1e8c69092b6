"""docs/snippets/jobs_quickstart.py does what docs/jobs.md says."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from pydantic import SecretStr

from bastion.core import BastionSettings
from bastion.db import create_engine
from tests.conftest import serve
from tests.snippets import load_snippet


async def test_the_quickstart_handles_order_placed_after_the_commit(
    settings: BastionSettings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    snippet = load_snippet("jobs_quickstart")
    url = f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"
    settings = settings.model_copy(update={"database_url": SecretStr(url)})
    engine = create_engine(settings)
    async with engine.begin() as connection:
        await connection.run_sync(snippet.Order.metadata.create_all)
    await engine.dispose()
    caplog.set_level(logging.INFO, logger="shop.events")
    async with serve(snippet.build(settings)) as client:
        response = await client.post("/api/v1/orders", params={"item": "tea"})
        assert response.status_code == 201
        for _ in range(250):  # at most 5 s
            if _announced(caplog):
                break
            await asyncio.sleep(0.02)
        # Leaving the lifespan lets the delivery in hand commit.
    assert _announced(caplog) == [f"order {response.json()['id']} placed (tea)"]


def _announced(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "shop.events"]
