"""Request ids: safe incoming ids are echoed, everything else is replaced, on every response."""

from __future__ import annotations

import json
import logging
import re

import pytest
from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse

from bastion import create_app
from bastion.core import BastionSettings, get_request_id
from bastion.middleware import is_valid_request_id
from bastion.observability import JsonFormatter, RequestIdFilter
from tests.conftest import serve

FRESH_ID = re.compile(r"^[0-9a-f]{32}$")


def _router() -> APIRouter:
    router = APIRouter()

    @router.get("/whoami")
    async def whoami() -> dict[str, str | None]:
        logging.getLogger("tests.handler").info("inside the handler")
        return {"request_id": get_request_id()}

    @router.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    @router.get("/crash")
    async def crash() -> None:
        raise RuntimeError("boom")

    return router


@pytest.mark.parametrize(
    "incoming", ["abc", "A.b_c-9", "x" * 128, "0f8fad5b-d9cb-469f-a165-70867728950e"]
)
async def test_safe_incoming_id_is_echoed(settings: BastionSettings, incoming: str) -> None:
    app = create_app(settings, routers=[_router()])
    async with serve(app) as client:
        response = await client.get("/api/v1/whoami", headers={"X-Request-ID": incoming})
    assert response.headers["x-request-id"] == incoming
    assert response.json() == {"request_id": incoming}


@pytest.mark.parametrize(
    "incoming",
    [b"", b"x" * 129, b"a b", b"a\tb", b"caf\xc3\xa9", b"id;drop", b"<script>", b"a/b", b"\xff"],
    ids=["empty", "too-long", "space", "tab", "unicode", "semicolon", "html", "slash", "latin1"],
)
async def test_unsafe_incoming_id_is_replaced(settings: BastionSettings, incoming: bytes) -> None:
    app = create_app(settings, routers=[_router()])
    async with serve(app) as client:
        response = await client.get("/api/v1/whoami", headers=[(b"X-Request-ID", incoming)])
    assert FRESH_ID.match(response.headers["x-request-id"])
    assert response.json() == {"request_id": response.headers["x-request-id"]}


@pytest.mark.parametrize("value", [b"a\r\nSet-Cookie: x=1", b"a\nb", b"a\rb"])
def test_ids_with_line_breaks_are_never_valid(value: bytes) -> None:
    assert not is_valid_request_id(value)


async def test_every_response_gets_a_fresh_id(settings: BastionSettings) -> None:
    app = create_app(settings, routers=[_router()])
    async with serve(app) as client:
        responses = [
            await client.get("/health"),
            await client.get("/api/v1/nope"),
            await client.get("/api/v1/items/not-a-number"),
        ]
    ids = [r.headers["x-request-id"] for r in responses]
    assert all(FRESH_ID.match(i) for i in ids)
    assert len(set(ids)) == 3
    assert [r.status_code for r in responses] == [200, 404, 422]


async def test_handler_set_id_header_is_replaced_not_duplicated(
    settings: BastionSettings,
) -> None:
    router = APIRouter()

    @router.get("/own")
    async def own() -> Response:
        return Response(headers={"X-Request-ID": "spoofed"})

    app = create_app(settings, routers=[router])
    async with serve(app) as client:
        response = await client.get("/api/v1/own", headers={"X-Request-ID": "mine"})
    assert response.headers.get_list("x-request-id") == ["mine"]


async def test_access_log_line_has_route_template_status_and_id(
    settings: BastionSettings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bastion.access")
    app = create_app(settings, routers=[_router()])
    async with serve(app) as client:
        await client.get("/api/v1/items/42", headers={"X-Request-ID": "req-42"})
        await client.get("/api/v1/secret-path-123")
    lines = [r for r in caplog.records if r.name == "bastion.access"]
    assert len(lines) == 2
    first, unmatched = lines
    assert first.route == "/api/v1/items/{item_id}"  # type: ignore[attr-defined]
    assert first.status == 200  # type: ignore[attr-defined]
    assert first.http_method == "GET"  # type: ignore[attr-defined]
    assert first.duration_ms >= 0  # type: ignore[attr-defined]
    assert first.request_id == "req-42"  # type: ignore[attr-defined]
    assert "/items/42" not in first.getMessage()
    assert unmatched.route == "<unmatched>"  # type: ignore[attr-defined]
    assert "secret-path-123" not in unmatched.getMessage()


async def test_a_plain_starlette_route_is_named_by_its_template_too(
    settings: BastionSettings, caplog: pytest.LogCaptureFixture
) -> None:
    # The OpenAPI document, the docs pages and `/metrics` are such routes, and so is a
    # host's `app.add_route`: matched, they are not `<unmatched>`.
    caplog.set_level(logging.INFO, logger="bastion.access")
    app = create_app(settings)

    async def plain(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.path_params["name"])

    app.add_route("/plain/{name}", plain)
    app.add_route("/other/{name}/plain", plain)  # one endpoint, two routes
    async with serve(app) as client:
        assert (await client.get("/plain/ada")).text == "ada"
        assert (await client.get("/other/bob/plain")).text == "bob"
    routes = [r.route for r in caplog.records if r.name == "bastion.access"]  # type: ignore[attr-defined]
    assert routes == ["/plain/{name}", "/other/{name}/plain"]


async def test_json_log_lines_carry_the_request_id(settings: BastionSettings) -> None:
    app = create_app(settings, routers=[_router()])
    captured: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            captured.append(record)

    handler = Keep()
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("tests.handler")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        async with serve(app) as client:
            await client.get("/api/v1/whoami", headers={"X-Request-ID": "json-1"})
    finally:
        logger.removeHandler(handler)
    assert len(captured) == 1
    line = json.loads(JsonFormatter().format(captured[0]))
    assert line["request_id"] == "json-1"
    assert line["message"] == "inside the handler"
    assert line["level"] == "info"
    assert line["logger"] == "tests.handler"


def test_fresh_ids_are_unique_and_a_forked_worker_draws_its_own_prefix() -> None:
    import os

    from bastion.middleware._request_id import new_request_id

    ids = {new_request_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(FRESH_ID.match(i) for i in ids)
    parent = new_request_id()[:16]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its prefix and leave at once
        os.write(write, new_request_id()[:16].encode())
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 16).decode() != parent


async def _access_lines(
    settings: BastionSettings, caplog: pytest.LogCaptureFixture, ok: int, crashes: int
) -> list[logging.LogRecord]:
    """The access lines of `ok` served requests and `crashes` 500s."""
    caplog.set_level(logging.INFO, logger="bastion.access")
    app = create_app(settings, routers=[_router()])
    async with serve(app) as client:
        for _ in range(ok):
            assert (await client.get("/api/v1/items/1")).status_code == 200
        for _ in range(crashes):
            assert (await client.get("/api/v1/crash")).status_code == 500
    return [r for r in caplog.records if r.name == "bastion.access"]


async def test_the_access_line_can_be_turned_off(
    settings: BastionSettings, caplog: pytest.LogCaptureFixture
) -> None:
    off = settings.model_copy(update={"access_log": False})
    assert await _access_lines(off, caplog, ok=3, crashes=1) == []


async def test_a_sampled_access_line_keeps_every_server_error(
    settings: BastionSettings, caplog: pytest.LogCaptureFixture
) -> None:
    none = settings.model_copy(update={"access_log_sample": 0.0})
    lines = await _access_lines(none, caplog, ok=20, crashes=2)
    assert [line.status for line in lines] == [500, 500]  # type: ignore[attr-defined]


async def test_a_sample_rate_writes_about_that_share_of_the_lines(
    settings: BastionSettings, caplog: pytest.LogCaptureFixture
) -> None:
    half = settings.model_copy(update={"access_log_sample": 0.5})
    lines = await _access_lines(half, caplog, ok=200, crashes=0)
    # Binomial(200, 0.5) falls outside these bounds with a probability below 1e-17.
    assert 40 <= len(lines) <= 160


@pytest.mark.parametrize("value", ["-0.1", "1.5", "many"])
def test_a_sample_rate_outside_0_to_1_is_refused(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pydantic import ValidationError

    monkeypatch.setenv("BASTION_ACCESS_LOG_SAMPLE", value)
    with pytest.raises(ValidationError):
        BastionSettings(environment="test")
