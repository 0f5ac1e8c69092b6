"""An app run in worker processes by the multiprocess metrics tests.

`python -m tests.observability.multiprocess_app N` serves N requests over ASGI
and exits (its lifespan closed); with N = 0 it prints one scrape instead.
`bastion serve tests.observability.multiprocess_app:app` serves it for real.
"""

from __future__ import annotations

import asyncio
import sys

import httpx
from fastapi import APIRouter

from bastion import create_app
from bastion.core import BastionSettings

# Nothing here imports prometheus_client before `create_app` does (it would then
# refuse `BASTION_METRICS_DIR`, whose mode is chosen at that import).
router = APIRouter()


@router.get("/notes/{note_id}")
async def read(note_id: int) -> dict[str, int]:
    return {"id": note_id}


app = create_app(BastionSettings(), routers=[router])


async def _main(requests: int) -> None:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            for _ in range(requests):
                assert (await client.get("/api/v1/notes/7")).status_code == 200
            if requests == 0:
                print((await client.get("/metrics")).text)


if __name__ == "__main__":
    asyncio.run(_main(int(sys.argv[1])))
