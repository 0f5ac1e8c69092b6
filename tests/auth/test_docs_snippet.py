"""The auth guide's quickstart snippet runs and does what the guide says."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bastion.auth import AUDIT_LOGGER
from bastion.core import BastionSettings
from bastion.db import create_engine
from tests.auth.conftest import PASSWORD, AppFactory, bearer, fast_settings
from tests.conftest import serve
from tests.snippets import load_snippet


async def test_the_quickstart_registers_logs_in_and_guards_routes(
    settings: BastionSettings, tmp_path: Path
) -> None:
    snippet = load_snippet("auth_quickstart")
    db = fast_settings(settings, database_url=f"sqlite+aiosqlite:///{tmp_path / 'q.db'}")
    engine = create_engine(db)
    async with engine.begin() as connection:
        await connection.run_sync(snippet.Base.metadata.create_all)
    await engine.dispose()
    async with serve(snippet.build_app(db)) as client:
        created = await client.post(
            "/api/v1/auth/register", json={"email": "ada@example.com", "password": PASSWORD}
        )
        assert created.status_code == 201
        assert created.json()["display_name"] is None
        login = await client.post(
            "/api/v1/auth/login", data={"username": "ada@example.com", "password": PASSWORD}
        )
        token = login.json()["access_token"]
        mine = await client.get("/api/v1/reports/mine", headers=bearer(token))
        assert mine.json() == {"owner": created.json()["id"]}
        assert (await client.get("/api/v1/reports/all", headers=bearer(token))).status_code == 403


async def test_a_per_user_limit_in_route_dependencies_counts_each_user_apart(
    settings: BastionSettings, tmp_path: Path
) -> None:
    snippet = load_snippet("auth_quickstart")
    db = fast_settings(settings, database_url=f"sqlite+aiosqlite:///{tmp_path / 'u.db'}")
    engine = create_engine(db)
    async with engine.begin() as connection:
        await connection.run_sync(snippet.Base.metadata.create_all)
    await engine.dispose()
    async with serve(snippet.build_app(db)) as client:  # every request from one IP
        tokens = {}
        for name in ("ada", "bob"):
            email = f"{name}@example.com"
            await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
            login = await client.post(
                "/api/v1/auth/login", data={"username": email, "password": PASSWORD}
            )
            tokens[name] = bearer(login.json()["access_token"])
        ada = [await client.post("/api/v1/reports/export", headers=tokens["ada"]) for _ in range(3)]
        bob = await client.post("/api/v1/reports/export", headers=tokens["bob"])
        anonymous = await client.post("/api/v1/reports/export")
    assert [r.status_code for r in ada] == [200, 200, 429]
    assert ada[1].headers["ratelimit-remaining"] == "0"
    assert bob.status_code == 200  # one user's calls never spend another's budget
    assert bob.headers["ratelimit-remaining"] == "1"
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "NOT_AUTHENTICATED"


async def test_a_factory_built_router_gets_one_stricter_budget(
    settings: BastionSettings, tmp_path: Path
) -> None:
    snippet = load_snippet("auth_quickstart")
    db = fast_settings(settings, database_url=f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    engine = create_engine(db)
    async with engine.begin() as connection:
        await connection.run_sync(snippet.Base.metadata.create_all)
    await engine.dispose()
    async with serve(snippet.build_limited_app(db)) as client:  # every request from one IP
        anonymous = [await client.get("/api/v1/auth/me") for _ in range(10)]
        register = await client.post(
            "/api/v1/auth/register", json={"email": "bob@example.com", "password": PASSWORD}
        )
        mine = await client.get("/api/v1/reports/mine")
    assert {r.status_code for r in anonymous} == {401}
    assert register.status_code == 429  # the 11th request to any auth route
    assert register.json()["error"]["code"] == "RATE_LIMITED"
    assert register.headers["ratelimit-policy"].startswith('"auth";q=10;w=60')
    assert mine.status_code == 401  # the other routers keep their own budgets


async def test_the_audit_snippet_writes_json_lines_to_a_file_of_their_own(
    make_app: AppFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "audit.jsonl"
    handler = load_snippet("audit_logging").send_audit_lines_to(path)
    audit = logging.getLogger(AUDIT_LOGGER)
    try:
        async with serve(make_app().app) as client:
            created = await client.post(
                "/api/v1/auth/register", json={"email": "ada@example.com", "password": PASSWORD}
            )
    finally:
        audit.removeHandler(handler)
        handler.close()
        audit.propagate = True
        audit.setLevel(logging.NOTSET)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["event"] for line in lines] == ["user.registered"]
    assert lines[0]["user_id"] == created.json()["id"]
    assert lines[0]["request_id"] == created.headers["x-request-id"]
    assert lines[0]["outcome"] == "success"
    assert not [r for r in caplog.records if r.name == AUDIT_LOGGER]  # not in the app's log
