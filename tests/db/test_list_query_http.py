"""List query parameters over HTTP: allow-listed filters and sort, cursors bound to both."""

from __future__ import annotations

import httpx
import pytest

from bastion.core import BastionSettings
from tests.conftest import serve
from tests.db.app import widget_app
from tests.db.docs_app import docs_app

PRICES = {"a": 1, "b": 5, "c": 5, "d": 9, "e": 12}


async def _widgets(client: httpx.AsyncClient) -> None:
    for name, price in PRICES.items():
        category = None if name == "e" else "tool"
        body = {"name": name, "price": price, "category": category}
        assert (await client.post("/api/v1/widgets", json=body)).status_code == 201


async def _names(client: httpx.AsyncClient, **params: str) -> list[str]:
    response = await client.get("/api/v1/widgets", params=params)
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


async def test_filters_become_typed_repository_filters(db_settings: BastionSettings) -> None:
    async with serve(docs_app(db_settings)) as client:
        await _widgets(client)
        assert await _names(client, price="5", sort="name") == ["b", "c"]
        assert await _names(client, **{"price[ge]": "5", "price[lt]": "12"}) == ["b", "c", "d"]
        assert await _names(client, **{"price[gt]": "5", "sort": "-price"}) == ["e", "d"]
        assert await _names(client, **{"price[in]": "1,9", "sort": "name"}) == ["a", "d"]
        assert await _names(client, **{"price[nin]": "1,9,12", "sort": "name"}) == ["b", "c"]
        assert await _names(client, **{"price[ne]": "5", "sort": "name"}) == ["a", "d", "e"]
        assert await _names(client, **{"price[le]": "1"}) == ["a"]
        assert await _names(client, **{"category[isnull]": "true"}) == ["e"]
        assert await _names(client, category="tool", sort="-name") == ["d", "c", "b", "a"]
        assert await _names(client, debug="true", price="1") == ["a"]  # a route's own parameter


@pytest.mark.parametrize(
    ("params", "code", "details"),
    [
        ({"colour": "red"}, "INVALID_FILTER", {"field": "colour"}),
        ({"name": "a"}, "INVALID_FILTER", {"field": "name"}),
        ({"price[like]": "1"}, "INVALID_FILTER", {"field": "price", "operator": "like"}),
        ({"category[lt]": "x"}, "INVALID_FILTER", {"field": "category", "operator": "lt"}),
        ({"price[": "1"}, "INVALID_FILTER", {"field": "price["}),
        (
            {"price": "cheap"},
            "INVALID_FILTER",
            {"field": "price", "operator": "eq", "reason": "invalid_value"},
        ),
        (
            {"category[isnull]": "maybe"},
            "INVALID_FILTER",
            {"field": "category", "operator": "isnull", "reason": "invalid_value"},
        ),
        ({"sort": "category"}, "INVALID_SORT", {"sort": "category"}),
        ({"sort": "-id"}, "INVALID_SORT", {"sort": "-id"}),
    ],
)
async def test_unknown_fields_operators_and_values_are_422(
    db_settings: BastionSettings, params: dict[str, str], code: str, details: object
) -> None:
    async with serve(docs_app(db_settings)) as client:
        response = await client.get("/api/v1/widgets", params=params)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["details"] == details


async def test_a_repeated_filter_is_422(db_settings: BastionSettings) -> None:
    async with serve(docs_app(db_settings)) as client:
        response = await client.get("/api/v1/widgets?price=1&price=5")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "INVALID_FILTER"


@pytest.mark.parametrize(
    ("path", "query", "name"),
    [
        ("/api/v1/widgets", "limit=1&limit=100", "limit"),
        ("/api/v1/widgets", "cursor=a&cursor=b", "cursor"),
        ("/api/v1/widgets/by-offset", "offset=0&offset=3", "offset"),
        ("/api/v1/widgets/by-offset", "limit=2&limit=3", "limit"),
    ],
)
async def test_a_page_parameter_given_twice_is_422_like_a_repeated_filter(
    db_settings: BastionSettings, path: str, query: str, name: str
) -> None:
    # Taking one of the two (FastAPI takes the last) would let a proxy or cache that
    # reads the other see another page than the app serves.
    app = docs_app(db_settings) if path == "/api/v1/widgets" else widget_app(db_settings)
    async with serve(app) as client:
        response = await client.get(f"{path}?{query}")
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"] == [
        {"loc": ["query", name], "msg": "Give this parameter once.", "type": "repeated"}
    ]


async def test_a_repeated_sort_is_422_invalid_sort(db_settings: BastionSettings) -> None:
    async with serve(docs_app(db_settings)) as client:
        response = await client.get("/api/v1/widgets?sort=price&sort=-price")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "INVALID_SORT"
    assert error["details"] == {"sort": ["price", "-price"]}


async def test_a_naive_datetime_filter_is_422_not_500(db_settings: BastionSettings) -> None:
    async with serve(docs_app(db_settings)) as client:
        naive = await client.get("/api/v1/docs", params={"created_at[gt]": "2026-01-01T00:00:00"})
        aware = await client.get("/api/v1/docs", params={"created_at[gt]": "2026-01-01T00:00:00Z"})
    assert naive.status_code == 422, naive.text
    assert naive.json()["error"]["code"] == "INVALID_FILTER"
    assert aware.status_code == 200, aware.text


@pytest.mark.parametrize(
    "moment",
    ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00+00:01"],
)
async def test_a_moment_out_of_range_in_utc_is_422_not_500(
    db_settings: BastionSettings, moment: str
) -> None:
    async with serve(docs_app(db_settings)) as client:
        response = await client.get("/api/v1/docs", params={"created_at[gt]": moment})
        edge = await client.get("/api/v1/docs", params={"created_at[lt]": "9999-12-31T23:59:59Z"})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "INVALID_FILTER"
    assert edge.status_code == 200, edge.text


@pytest.mark.parametrize(
    "params", [{"title[search]": "\x00"}, {"title[search]": "zzz\x00"}, {"slug": "a\x00"}]
)
async def test_a_nul_in_a_filter_is_422_on_every_database(
    db_settings: BastionSettings, params: dict[str, str]
) -> None:
    async with serve(docs_app(db_settings)) as client:
        await client.post("/api/v1/docs", json={"title": "kept", "slug": "kept"})
        response = await client.get("/api/v1/docs", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "INVALID_FILTER"


async def test_keyset_pages_walk_a_filtered_sorted_list(db_settings: BastionSettings) -> None:
    async with serve(docs_app(db_settings)) as client:
        await _widgets(client)
        params = {"price[ge]": "5", "sort": "-price", "limit": "2"}
        seen: list[str] = []
        for _ in range(5):
            response = await client.get("/api/v1/widgets", params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            seen += [item["name"] for item in page["items"]]
            if page["next_cursor"] is None:
                break
            params = {**params, "cursor": page["next_cursor"]}
        assert seen == ["e", "d", "c", "b"]


@pytest.mark.parametrize(
    "other",
    [
        {"price[ge]": "1", "sort": "-price"},  # another value
        {"price[gt]": "5", "sort": "-price"},  # another operator
        {"price[ge]": "5", "category": "tool", "sort": "-price"},  # a filter added
        {"sort": "-price"},  # a filter removed
        {"price[ge]": "5", "sort": "price"},  # another sort
    ],
)
async def test_a_cursor_reused_with_other_filters_or_sort_is_422_invalid_cursor(
    db_settings: BastionSettings, other: dict[str, str]
) -> None:
    async with serve(docs_app(db_settings)) as client:
        await _widgets(client)
        first = {"price[ge]": "5", "sort": "-price", "limit": "1"}
        cursor = (await client.get("/api/v1/widgets", params=first)).json()["next_cursor"]
        assert cursor is not None
        same = await client.get("/api/v1/widgets", params={**first, "cursor": cursor})
        assert same.status_code == 200
        response = await client.get("/api/v1/widgets", params={**other, "cursor": cursor})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "INVALID_CURSOR"


async def test_the_same_filters_in_another_order_continue_the_cursor(
    db_settings: BastionSettings,
) -> None:
    async with serve(docs_app(db_settings)) as client:
        await _widgets(client)
        first = await client.get("/api/v1/widgets?price[ge]=5&category=tool&limit=1&sort=name")
        cursor = first.json()["next_cursor"]
        again = await client.get(
            f"/api/v1/widgets?category=tool&cursor={cursor}&limit=1&sort=name&price[ge]=5"
        )
    assert again.status_code == 200, again.text
    assert [item["name"] for item in again.json()["items"]] == ["c"]


async def test_search_and_in_filters_on_text(db_settings: BastionSettings) -> None:
    async with serve(docs_app(db_settings)) as client:
        for slug, title in (("one", "Alpha 100%"), ("two", "beta"), ("three", "alphabet")):
            await client.post("/api/v1/docs", json={"title": title, "slug": slug})
        found = await client.get("/api/v1/docs", params={"title[search]": "ALPHA", "sort": "title"})
        assert [d["slug"] for d in found.json()["items"]] == ["one", "three"]
        percent = await client.get("/api/v1/docs", params={"title[search]": "%"})
        assert [d["slug"] for d in percent.json()["items"]] == ["one"]
        listed = await client.get("/api/v1/docs", params={"slug[in]": "two,three", "sort": "title"})
        assert [d["slug"] for d in listed.json()["items"]] == ["three", "two"]


def test_a_list_query_naming_a_field_or_operator_that_does_not_exist_is_refused() -> None:
    from bastion import list_query
    from tests.db.models import WidgetOut

    with pytest.raises(ValueError, match="colour"):
        list_query(WidgetOut, filters={"colour": ["eq"]})
    with pytest.raises(ValueError, match="like"):
        list_query(WidgetOut, filters={"name": ["like"]})


def test_the_allowed_filters_and_sort_are_in_the_openapi_document() -> None:
    from bastion.core import BastionSettings as Settings

    spec = docs_app(Settings(environment="test")).openapi()
    parameters = spec["paths"]["/api/v1/docs"]["get"]["parameters"]
    names = {parameter["name"] for parameter in parameters}
    assert names == {
        "sort",
        "limit",
        "cursor",
        "title",
        "title[search]",
        "slug",
        "slug[in]",
        "created_at[gt]",
        "created_at[lt]",
    }
    assert "422" in spec["paths"]["/api/v1/docs"]["get"]["responses"]
    schemas = {parameter["name"]: parameter["schema"] for parameter in parameters}
    # What a value must look like, so that clients (and fuzzers) send what the list reads.
    assert schemas["created_at[gt]"]["format"] == "date-time"
    assert set(schemas["sort"]["enum"]) == {"title", "-title", "created_at", "-created_at"}
    assert "format" not in schemas["slug[in]"]  # a comma-separated list


@pytest.mark.parametrize("params", [{"price": str(2**64)}, {"price[gt]": str(-(2**63) - 1)}])
async def test_an_integer_filter_beyond_64_bits_is_422_not_500(
    db_settings: BastionSettings, params: dict[str, str]
) -> None:
    # The cursor's digest of the filters takes any integer; the database refuses it.
    async with serve(docs_app(db_settings)) as client:
        await _widgets(client)
        response = await client.get("/api/v1/widgets", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "INVALID_VALUE"
