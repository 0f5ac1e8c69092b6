"""Optimistic locking over HTTP: reads carry `ETag`, a stale `If-Match` is 412 and writes nothing."""

from __future__ import annotations

import httpx
import pytest

from bastion.core import BastionSettings
from bastion.web import Precondition
from tests.conftest import serve
from tests.db.docs_app import docs_app


async def _doc(client: httpx.AsyncClient, slug: str = "a") -> dict[str, object]:
    response = await client.post("/api/v1/docs", json={"title": "first", "slug": slug})
    assert response.status_code == 201, response.text
    assert response.headers["etag"] == '"1"'
    body: dict[str, object] = response.json()
    return body


async def test_reads_and_writes_carry_the_version_as_a_strong_etag(
    db_settings: BastionSettings,
) -> None:
    async with serve(docs_app(db_settings)) as client:
        doc = await _doc(client)
        read = await client.get(f"/api/v1/docs/{doc['id']}")
        assert read.headers["etag"] == '"1"'
        changed = await client.patch(
            f"/api/v1/docs/{doc['id']}", json={"title": "second"}, headers={"If-Match": '"1"'}
        )
        assert changed.status_code == 200, changed.text
        assert changed.headers["etag"] == '"2"'
        assert changed.json()["version"] == 2


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
async def test_a_stale_if_match_is_412_and_writes_nothing(
    db_settings: BastionSettings, method: str
) -> None:
    async with serve(docs_app(db_settings)) as client:
        doc = await _doc(client)
        url = f"/api/v1/docs/{doc['id']}"
        assert (await client.patch(url, json={"title": "v2"})).headers["etag"] == '"2"'
        body = {"title": "lost update"} if method == "PATCH" else None
        stale = await client.request(method, url, json=body, headers={"If-Match": '"1"'})
        assert stale.status_code == 412, stale.text
        assert stale.json()["error"]["code"] == "PRECONDITION_FAILED"
        after = await client.get(url)
        assert after.status_code == 200
        assert after.json()["title"] == "v2"
        assert after.headers["etag"] == '"2"'


async def test_a_matching_if_match_deletes(db_settings: BastionSettings) -> None:
    async with serve(docs_app(db_settings)) as client:
        doc = await _doc(client)
        url = f"/api/v1/docs/{doc['id']}"
        deleted = await client.delete(url, headers={"If-Match": '"7", "1"'})
        assert deleted.status_code == 204, deleted.text
        assert (await client.get(url)).status_code == 404


async def test_without_if_match_writes_proceed(db_settings: BastionSettings) -> None:
    async with serve(docs_app(db_settings)) as client:
        doc = await _doc(client)
        url = f"/api/v1/docs/{doc['id']}"
        for title in ("b", "c"):
            assert (await client.patch(url, json={"title": title})).status_code == 200
        assert (await client.delete(url)).status_code == 204


@pytest.mark.parametrize(
    ("header", "status"),
    [
        ("*", 200),
        (' "1" ', 200),
        ('"9", "1"', 200),
        ('W/"1"', 412),  # If-Match compares strongly: a weak tag never matches
        ("1", 412),  # not an entity tag: matches nothing
        ('"1', 412),
        ('"x"', 412),
        ('"99999999999999999999999"', 412),
        ('"2147483648"', 412),  # beyond the 32-bit version column: no row has it
        ('"9223372036854775808"', 412),
        ('"2147483648", "1"', 200),
        ('"01"', 412),  # strong comparison: the same characters, not the same number
        ('"+1"', 412),
        ("", 412),
    ],
)
@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
async def test_if_match_is_evaluated_as_rfc_9110_says(
    db_settings: BastionSettings, header: str, status: int, method: str
) -> None:
    async with serve(docs_app(db_settings)) as client:
        doc = await _doc(client)
        url = f"/api/v1/docs/{doc['id']}"
        body = {"json": {"title": "t"}} if method == "PATCH" else {}
        response = await client.request(method, url, headers={"If-Match": header}, **body)
        if method == "DELETE":
            assert response.status_code == (204 if status == 200 else status), response.text
            assert (await client.get(url)).status_code == (404 if status == 200 else 200)
            return
        assert response.status_code == status, response.text
        read = await client.get(url)
        assert read.json()["title"] == ("t" if status == 200 else "first")


async def test_a_read_with_a_stale_if_match_is_412(db_settings: BastionSettings) -> None:
    async with serve(docs_app(db_settings)) as client:
        doc = await _doc(client)
        url = f"/api/v1/docs/{doc['id']}"
        assert (await client.get(url, headers={"If-Match": '"1"'})).status_code == 200
        stale = await client.get(url, headers={"If-Match": '"2"'})
        assert stale.status_code == 412
        assert stale.json()["error"]["code"] == "PRECONDITION_FAILED"


async def test_if_match_star_on_a_missing_resource_is_404(db_settings: BastionSettings) -> None:
    async with serve(docs_app(db_settings)) as client:
        missing = "/api/v1/docs/01890f5e-0000-7000-8000-000000000000"
        for method in ("PATCH", "DELETE"):
            body = {"title": "x"} if method == "PATCH" else None
            for header in ("*", '"1"'):
                response = await client.request(
                    method, missing, json=body, headers={"If-Match": header}
                )
                assert response.status_code == 404, (method, header, response.text)


async def test_a_version_in_the_body_is_a_422_read_only_field_never_a_500(
    db_settings: BastionSettings,
) -> None:
    async with serve(docs_app(db_settings)) as client:
        doc = await _doc(client)
        url = f"/api/v1/docs/{doc['id']}"
        response = await client.patch(url, json={"title": "x", "version": 1})
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "READ_ONLY_FIELD"
        assert error["details"] == {"fields": ["version"]}
        assert (await client.get(url)).json()["title"] == "first"


async def test_several_if_match_fields_are_one_list(db_settings: BastionSettings) -> None:
    async with serve(docs_app(db_settings)) as client:
        doc = await _doc(client)
        url = f"/api/v1/docs/{doc['id']}"
        headers = [("If-Match", '"5"'), ("If-Match", '"1"')]
        response = await client.patch(url, json={"title": "y"}, headers=headers)
        assert response.status_code == 200, response.text


def test_expected_version_is_none_without_a_header_or_with_a_star() -> None:
    from fastapi import Response

    def precondition(header: str | None) -> Precondition:
        return Precondition(header=header, method="PATCH", response=Response())

    assert precondition(None).expected_version is None
    assert precondition(" * ").expected_version is None
    assert precondition('"3", W/"4", "x", , "5"').expected_version == frozenset({3, 5})
    assert precondition('"3" "4"').expected_version == frozenset()
