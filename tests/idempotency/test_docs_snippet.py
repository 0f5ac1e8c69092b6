"""The idempotency docs snippet runs as documented."""

from __future__ import annotations

from bastion.core import BastionSettings
from tests.conftest import serve
from tests.snippets import load_snippet


async def test_a_retried_payment_replays_its_first_answer(settings: BastionSettings) -> None:
    app = load_snippet("idempotency").create_payments_app(settings)
    headers = {"X-Account": "ann", "Idempotency-Key": "pay-42"}
    async with serve(app) as client:
        first = await client.post("/api/v1/payments", json={"cents": 500}, headers=headers)
        retry = await client.post("/api/v1/payments", json={"cents": 500}, headers=headers)
        other = await client.post("/api/v1/payments", json={"cents": 900}, headers=headers)
        bob = await client.post(
            "/api/v1/payments", json={"cents": 500}, headers={**headers, "X-Account": "bob"}
        )
    assert first.status_code == retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == first.json()
    assert retry.headers["location"] == first.headers["location"]
    assert other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert bob.status_code == 201
    assert bob.json()["id"] != first.json()["id"]
