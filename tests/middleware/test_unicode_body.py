"""The JSON text check, whatever the chunks a body arrives in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import httpx
import pytest

from tests.edge import edge_app, edge_settings, serve_as

# One character of each UTF-8 length (1 to 4 bytes) and a valid surrogate-pair escape.
NAME = "a\N{LATIN SMALL LETTER E WITH ACUTE}\N{EURO SIGN}\N{GRINNING FACE}\\ud83d\\ude00z"
BODY = b'{"name": "' + NAME.encode() + b'"}'
# A lone surrogate escape among multi-byte characters.
LONE = b'{"name": "\xc3\xa9\\ud800\xe2\x82\xac"}'


def _two_way_splits(body: bytes) -> list[list[bytes]]:
    return [[body[:i], body[i:]] for i in range(1, len(body))]


def _bytewise(body: bytes) -> list[bytes]:
    return [body[i : i + 1] for i in range(len(body))]


async def _post(client: httpx.AsyncClient, chunks: Sequence[bytes]) -> httpx.Response:
    async def stream() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    return await client.post(
        "/api/v1/items", content=stream(), headers={"Content-Type": "application/json"}
    )


async def test_a_valid_body_is_accepted_split_at_every_position() -> None:
    async with serve_as(edge_app(edge_settings(ratelimit_default=None))) as client:
        for chunks in [*_two_way_splits(BODY), _bytewise(BODY)]:
            response = await _post(client, chunks)
            assert response.status_code == 201, chunks
            assert response.json()["name"] == "a\u00e9\u20ac\U0001f600\U0001f600z"


async def test_ascii_between_the_halves_of_a_character_is_invalid_utf8_at_every_position() -> None:
    # Each split inside a multi-byte character, with an ASCII chunk between the
    # halves: the bytes are not UTF-8, though each non-ASCII chunk alone continues
    # the previous one.
    inside = [i for i in range(1, len(BODY)) if BODY[i] & 0xC0 == 0x80]
    assert len(inside) == 1 + 2 + 3  # the continuation bytes of é, € and 😀
    async with serve_as(edge_app(edge_settings(ratelimit_default=None))) as client:
        for i in inside:
            response = await _post(client, [BODY[:i], b"x", BODY[i:]])
            assert response.status_code == 422, i
            assert response.json()["error"]["details"][0]["type"] == "json_invalid"
        bytewise = _bytewise(BODY)
        bytewise.insert(inside[0], b" ")
        response = await _post(client, bytewise)
        assert response.status_code == 422
        assert response.json()["error"]["details"][0]["type"] == "json_invalid"


@pytest.mark.parametrize("split", ["two-way", "three-way", "bytewise"])
async def test_a_lone_surrogate_escape_is_refused_split_at_every_position(split: str) -> None:
    if split == "two-way":
        cases = _two_way_splits(LONE)
    elif split == "three-way":
        n = len(LONE)
        cases = [[LONE[:i], LONE[i:j], LONE[j:]] for i in range(1, n) for j in range(i + 1, n)]
    else:
        cases = [_bytewise(LONE)]
    async with serve_as(edge_app(edge_settings(ratelimit_default=None))) as client:
        for chunks in cases:
            response = await _post(client, chunks)
            assert response.status_code == 422, chunks
            assert response.json()["error"]["details"] == [
                {
                    "loc": ["body", "name"],
                    "type": "string_unicode",
                    "msg": "Text must be valid Unicode (no lone surrogates).",
                }
            ]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
async def test_json_in_utf16_or_utf32_is_refused_as_not_utf8(encoding: str) -> None:
    # Byte for byte, such a body is valid UTF-8 (ASCII and NULs), and its escapes are
    # spread across NULs; `json.loads` would read it, surrogate escapes and all.
    body = '{"name": "caf\\u00e9 \\ud800"}'.encode(encoding)
    async with serve_as(edge_app(edge_settings(ratelimit_default=None))) as client:
        response = await _post(client, [body])
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["type"] == "json_invalid"


async def test_the_first_of_two_content_types_decides_as_the_app_reads_it() -> None:
    async with serve_as(edge_app(edge_settings(ratelimit_default=None))) as client:
        response = await client.post(
            "/api/v1/items",
            content=LONE,
            headers=[(b"Content-Type", b"application/json"), (b"Content-Type", b"text/plain")],
        )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["type"] == "string_unicode"
