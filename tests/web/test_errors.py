"""Every error, from the router, validation, bastion or a crash, is the one envelope."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import ClassVar

import httpx
import pytest
from fastapi import APIRouter, FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict

from bastion import create_app
from bastion.core import BastionSettings
from bastion.errors import BastionError, ConflictError
from tests.conftest import serve

SECRET_PASSWORD = "correct horse battery staple 42"


class Signup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str
    password: str
    age: int = 0


class TeapotError(BastionError):
    code = "I_AM_A_TEAPOT"
    status_code: ClassVar[int] = 418
    default_message = "Short and stout."


def _router() -> APIRouter:
    router = APIRouter()

    @router.post("/signup", status_code=201)
    async def signup(body: Signup) -> dict[str, str]:
        return {"email": body.email}

    @router.get("/crash")
    async def crash() -> None:
        raise RuntimeError("SELECT secret FROM users -- do not leak")

    @router.get("/teapot")
    async def teapot() -> None:
        raise TeapotError(details={"brew": "earl grey"}, headers={"Retry-After": "5"})

    @router.get("/conflict")
    async def conflict() -> None:
        raise ConflictError("Already there.", code="EMAIL_TAKEN")

    @router.get("/http")
    async def http_error() -> None:
        raise HTTPException(status_code=404, detail="Note not found.")

    return router


@pytest.fixture
def app(settings: BastionSettings) -> FastAPI:
    return create_app(settings, routers=[_router()])


def assert_envelope(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details", "request_id"}
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    assert error["request_id"] == response.headers["x-request-id"]
    return error  # type: ignore[no-any-return]


async def test_unknown_path_is_404_envelope(app: FastAPI) -> None:
    async with serve(app) as client:
        response = await client.get("/api/v1/nothing-here")
    assert_envelope(response, 404, "NOT_FOUND")


async def test_wrong_method_is_405_envelope_with_allow(app: FastAPI) -> None:
    async with serve(app) as client:
        response = await client.delete("/health")
    assert_envelope(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "GET, HEAD"


async def test_405_allow_lists_the_methods_of_every_route_at_the_path(
    settings: BastionSettings,
) -> None:
    router = APIRouter()

    @router.get("/things/{thing_id}")
    async def read(thing_id: int) -> None: ...

    @router.patch("/things/{thing_id}")
    async def change(thing_id: int) -> None: ...

    @router.delete("/things/{thing_id}")
    async def remove(thing_id: int) -> None: ...

    async with serve(create_app(settings, routers=[router])) as client:
        response = await client.put("/api/v1/things/3")
    assert_envelope(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "DELETE, GET, HEAD, PATCH"


@pytest.mark.parametrize(
    "content",
    [b"[" * 100_000 + b"]" * 100_000, b'{"email": "a@b.c", "password": 1' + b"0" * 5000 + b"}"],
    ids=["nested-beyond-recursion", "integer-of-5001-digits"],
)
async def test_well_formed_json_the_parser_refuses_is_a_400_envelope(
    app: FastAPI, content: bytes
) -> None:
    async with serve(app) as client:
        response = await client.post(
            "/api/v1/signup", content=content, headers={"content-type": "application/json"}
        )
    assert_envelope(response, 400, "BAD_REQUEST")


@pytest.mark.parametrize(
    ("content", "expected_loc", "expected_type"),
    [
        (b'{"email": "a@b.c", "password": ', ["body", 31], "json_invalid"),
        (
            b'{"email": "a@b.c", "password": "x", "admin": true}',
            ["body", "admin"],
            "extra_forbidden",
        ),
        (b'{"email": "a@b.c", "password": "x", "age": "old"}', ["body", "age"], "int_parsing"),
    ],
    ids=["malformed-json", "unknown-field", "wrong-type"],
)
async def test_invalid_body_is_422_with_field_details(
    app: FastAPI, content: bytes, expected_loc: list[object], expected_type: str
) -> None:
    async with serve(app) as client:
        response = await client.post(
            "/api/v1/signup", content=content, headers={"content-type": "application/json"}
        )
    error = assert_envelope(response, 422, "VALIDATION_ERROR")
    details = error["details"]
    assert isinstance(details, list)
    assert details
    assert details[0]["loc"] == expected_loc
    assert details[0]["type"] == expected_type
    for detail in details:
        assert set(detail) == {"loc", "type", "msg"}


async def test_validation_error_never_echoes_the_password(app: FastAPI) -> None:
    async with serve(app) as client:
        missing_email = await client.post("/api/v1/signup", json={"password": SECRET_PASSWORD})
        bad_age = await client.post(
            "/api/v1/signup",
            json={"email": "a@b.c", "password": SECRET_PASSWORD, "age": SECRET_PASSWORD},
        )
    for response in (missing_email, bad_age):
        assert_envelope(response, 422, "VALIDATION_ERROR")
        assert SECRET_PASSWORD not in response.text
        assert "input" not in response.text
    assert missing_email.json()["error"]["details"] == [
        {"loc": ["body", "email"], "type": "missing", "msg": "Field required"}
    ]


async def test_crash_is_generic_500_logged_with_request_id(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="bastion.errors")
    async with serve(app) as client:
        response = await client.get("/api/v1/crash", headers={"X-Request-ID": "crash-1"})
    error = assert_envelope(response, 500, "INTERNAL_ERROR")
    assert error["request_id"] == "crash-1"
    assert error["message"] == "An internal error occurred."
    for leak in ("RuntimeError", "SELECT", "Traceback", "do not leak"):
        assert leak not in response.text
    records = [r for r in caplog.records if r.name == "bastion.errors"]
    assert len(records) == 1
    assert records[0].exc_info is not None
    assert "SELECT secret" in str(records[0].exc_info[1])
    assert records[0].request_id == "crash-1"  # type: ignore[attr-defined]


async def test_host_error_subclass_keeps_its_code_status_and_headers(app: FastAPI) -> None:
    async with serve(app) as client:
        response = await client.get("/api/v1/teapot")
    error = assert_envelope(response, 418, "I_AM_A_TEAPOT")
    assert error["message"] == "Short and stout."
    assert error["details"] == {"brew": "earl grey"}
    assert response.headers["retry-after"] == "5"


async def test_instance_code_overrides_class_code(app: FastAPI) -> None:
    async with serve(app) as client:
        response = await client.get("/api/v1/conflict")
    error = assert_envelope(response, 409, "EMAIL_TAKEN")
    assert error["message"] == "Already there."


async def test_http_exception_keeps_host_message(app: FastAPI) -> None:
    async with serve(app) as client:
        response = await client.get("/api/v1/http")
    error = assert_envelope(response, 404, "NOT_FOUND")
    assert error["message"] == "Note not found."


@pytest.mark.parametrize(
    ("content", "expected_loc"),
    [
        (b'{"email": "\\ud800", "password": "x"}', ["body", "email"]),
        (b'{"email": "a", "password": "x", "\\udfff": 1}', ["body"]),
        (b'{"email": "a\\\\", "password": "\\udc00x"}', ["body", "password"]),
        (b'{"email": "\\ud83d\\u0041", "password": "x"}', ["body", "email"]),
        (b'{"email": "x", "password": "\\uDBFF"}', ["body", "password"]),
    ],
    ids=["lone-high", "surrogate-key", "lone-low", "high-then-non-low", "high-at-end"],
)
async def test_unencodable_text_is_422_not_500(
    app: FastAPI, content: bytes, expected_loc: list[object]
) -> None:
    async with serve(app) as client:
        response = await client.post(
            "/api/v1/signup", content=content, headers={"content-type": "application/json"}
        )
    error = assert_envelope(response, 422, "VALIDATION_ERROR")
    assert error["details"] == [
        {"loc": expected_loc, "type": "string_unicode", "msg": error["details"][0]["msg"]}  # type: ignore[index]
    ]


@pytest.mark.parametrize(
    "email",
    [b"\\ud83d\\ude00@x.y", b"\\\\ud800@x.y"],
    ids=["escaped-pair", "escaped-backslash-then-text"],
)
async def test_valid_escapes_are_accepted(app: FastAPI, email: bytes) -> None:
    async with serve(app) as client:
        response = await client.post(
            "/api/v1/signup",
            content=b'{"email": "' + email + b'", "password": "p"}',
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 201
    assert response.json()["email"] in {"\N{GRINNING FACE}@x.y", "\\ud800@x.y"}


@pytest.mark.parametrize(
    "content",
    [b'{"email": "\xff\xfe", "password": "x"}', b'{"email": "caf\xc3'],
    ids=["invalid-bytes", "truncated-sequence"],
)
async def test_body_that_is_not_utf8_json_is_422_not_400(app: FastAPI, content: bytes) -> None:
    async with serve(app) as client:
        response = await client.post(
            "/api/v1/signup", content=content, headers={"content-type": "application/json"}
        )
    error = assert_envelope(response, 422, "VALIDATION_ERROR")
    assert error["details"][0]["type"] == "json_invalid"  # type: ignore[index]


async def test_non_json_body_is_not_inspected(app: FastAPI) -> None:
    async with serve(app) as client:
        response = await client.post(
            "/api/v1/signup", content=b"\xff\\ud800", headers={"content-type": "text/plain"}
        )
    assert_envelope(response, 422, "VALIDATION_ERROR")
    assert response.json()["error"]["details"][0]["type"] != "json_invalid"


async def test_surrogate_escape_split_across_chunks_is_caught(app: FastAPI) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"email": "a\\ud'
        yield b'800", "password": "x"}'

    async with serve(app) as client:
        response = await client.post(
            "/api/v1/signup", content=chunks(), headers={"content-type": "application/json"}
        )
    assert_envelope(response, 422, "VALIDATION_ERROR")
