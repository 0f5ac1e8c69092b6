"""Values the database refuses and cursors whose content no longer fits: 422, never 500."""

from __future__ import annotations

import pytest

from bastion.core import BastionSettings
from bastion.db import CursorPayload, CursorSigner
from tests.conftest import TEST_SECRET, serve
from tests.db.app import widget_app

# Moments valid as given but out of range once converted to UTC, where they are stored.
OUT_OF_UTC = [
    ({"name": "late", "due_at": "9999-12-31T23:59:59-14:00"}, "out_of_range"),
    ({"name": "early", "due_at": "0001-01-01T00:00:00+14:00"}, "out_of_range"),
]
# (body, reason): what each backend refuses. SQLite stores long text and NUL as given,
# but no integer beyond 64 bits.
REFUSED = {
    "postgres": [
        ({"name": "x" * 101}, "too_long"),
        ({"name": "nul\x00byte"}, "invalid_text"),
        ({"name": "int32", "price": 2**31}, "out_of_range"),
        ({"name": "int64", "price": 2**70}, "out_of_range"),
        ({"name": "heavy", "weight": "1e400000000"}, "out_of_range"),  # beyond `numeric`
        *OUT_OF_UTC,
    ],
    "sqlite": [({"name": "int64", "price": 2**70}, "out_of_range"), *OUT_OF_UTC],
}


async def test_a_value_the_database_refuses_is_a_422_invalid_value_without_the_value(
    db_settings: BastionSettings,
) -> None:
    # The host's input model (`WidgetIn`) bounds nothing: the driver's refusal is
    # the last line, and it must still be the client's 422, not a server 500.
    backend = (
        "postgres"
        if db_settings.database_url.get_secret_value().startswith("postgresql")
        else "sqlite"
    )
    async with serve(widget_app(db_settings)) as client:
        for body, reason in REFUSED[backend]:
            response = await client.post("/api/v1/widgets", json=body)
            assert response.status_code == 422, (body, response.text)
            error = response.json()["error"]
            assert error["code"] == "INVALID_VALUE"
            assert error["details"] == {"reason": reason}
            for leaked in ("INSERT", "widgets", "xxxxxxxxxx", "nul", str(body.get("price", "-"))):
                assert leaked not in response.text
            for leaked in ("9999-12-31", "0001-01-01"):
                assert leaked not in response.text
        assert (await client.get("/api/v1/widgets")).json()["items"] == []


def _signed(key: object, last_id: object = "01890f5e-0000-7000-8000-000000000000") -> str:
    payload = CursorPayload(scope="widgets", sort="-created_at", key=key, id=last_id)  # type: ignore[arg-type]
    return CursorSigner(TEST_SECRET).encode(payload)


@pytest.mark.parametrize(
    "cursor",
    [
        _signed("2025-01-01T00:00:00"),
        _signed("2025-01-01T00:00:00+00:00", "not-a-uuid"),
        _signed("yesterday"),
        _signed({"at": 1}),
        _signed(None),
        _signed("2025-01-01T00:00:00+00:00", 7),
    ],
    ids=["naive-datetime", "id-not-a-uuid", "not-a-datetime", "object", "null", "int-id"],
)
async def test_a_signed_cursor_whose_content_does_not_fit_is_a_422_invalid_cursor(
    db_settings: BastionSettings, cursor: str
) -> None:
    async with serve(widget_app(db_settings)) as client:
        await client.post("/api/v1/widgets", json={"name": "a"})
        response = await client.get("/api/v1/widgets", params={"cursor": cursor})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "INVALID_CURSOR"


async def test_a_signed_cursor_with_an_aware_datetime_still_pages(
    db_settings: BastionSettings,
) -> None:
    async with serve(widget_app(db_settings)) as client:
        await client.post("/api/v1/widgets", json={"name": "a"})
        response = await client.get(
            "/api/v1/widgets", params={"cursor": _signed("2999-01-01T00:00:00+00:00")}
        )
    assert response.status_code == 200
    assert [w["name"] for w in response.json()["items"]] == ["a"]
