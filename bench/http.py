"""The example app against the same routes written by hand, over HTTP under uvicorn.

`GET /health`, `GET /api/v1/notes` (a page of 20 of the caller's 100 notes) and
`POST /api/v1/notes`, authenticated with a live-session JWT, served by uvicorn with 1
and 2 workers: `notes_app.main:app` with every battery on (edge, access line, rate
limit, live-session auth; production settings) against `bench/_hand_app.py` (FastAPI +
SQLAlchemy async + PyJWT, no bastion), on the same tables and rows, with the same pool
(bastion's defaults: 15 connections kept, no overflow), so that the ratios compare
code. Both servers run at once, pinned to the same CPUs (taskset), the load generator
on another where the machine has one; runs alternate between the apps (and which goes
first), and each figure is the median of its runs. Prints req/s, p50, p99, errors and
the database connections the server held, then the ratios bastion / hand-written
against the targets.

The database is PostgreSQL when BASTION_BENCH_DATABASE_URL or BASTION_TEST_DATABASE_URL
names one (in a schema of its own, dropped after), else a SQLite file; the rate limit
counts on Redis when BASTION_REDIS_URL is set, and the example's `note.created` events
are then left in the outbox for `bastion worker` (not run here); without it, the server
delivers them itself, so each create also pays for its event's delivery. The hand-written
create writes the same event row, to an outbox table of its own that nothing delivers.
Load: wrk when on PATH, else the asyncio client of `bench/_http_load.py`, 32 connections.
BENCH_MODE=full runs 3 rounds of 10 s per route (about 8 minutes); the default, quick,
2 rounds of 3 s.

`python -m bench http` (or `make bench`, which runs every benchmark).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bench import _hand_app
from bench._http_load import Result, load, median, request_bytes, wrk
from bench._uvicorn import Server, serve

FULL = os.environ.get("BENCH_MODE", "quick") == "full"
ROUNDS, SECONDS, WARMUP = (3, 10.0, 2.0) if FULL else (2, 3.0, 1.0)
CONNECTIONS = 32
NOTES = 100
PASSWORD = "correct horse battery staple"  # noqa: S105 - a benchmark account
SECRET = "http-benchmark-secret-key-long-enough-0123456789"  # noqa: S105 - benchmark only
REPO = Path(__file__).resolve().parent.parent
ROUTES = ("health", "list", "create")
#: route -> (minimum throughput ratio, maximum p99 ratio or None)
TARGETS = {"health": (0.6, None), "list": (0.85, 1.2), "create": (0.85, 1.2)}


@dataclass(frozen=True)
class Database:
    url: str
    schema: str | None
    #: What connections are counted against: the server's TCP port, or the SQLite file.
    target: str | int


@contextmanager
def _database(directory: Path) -> Iterator[Database]:
    url = os.environ.get("BASTION_BENCH_DATABASE_URL") or os.environ.get(
        "BASTION_TEST_DATABASE_URL"
    )
    if not url:
        path = directory / "bench.db"
        yield Database(f"sqlite+aiosqlite:///{path}", None, str(path))
        return
    schema = f"bench_http_{secrets.token_hex(6)}"
    asyncio.run(_schema(url, f'CREATE SCHEMA "{schema}"'))
    try:
        yield Database(url, schema, make_url(url).port or 5432)
    finally:
        asyncio.run(_schema(url, f'DROP SCHEMA "{schema}" CASCADE'))


async def _schema(url: str, statement: str) -> None:
    admin = create_async_engine(url, poolclass=NullPool)
    try:
        async with admin.begin() as connection:
            await connection.execute(text(statement))
    finally:
        await admin.dispose()


def _environments(db: Database) -> tuple[dict[str, str], dict[str, str]]:
    bastion = {
        "BASTION_ENVIRONMENT": "production",
        "BASTION_SECRET_KEY": SECRET,
        "BASTION_DATABASE_URL": db.url,
        # The limiter counts every request; the budget is set so that it never refuses one.
        "BASTION_RATELIMIT_DEFAULT": "100000000/minute",
        "BASTION_ACCESS_TOKEN_TTL": "3600",
    }
    if db.schema:
        bastion["BASTION_DATABASE_SCHEMA"] = db.schema
    hand = {"HAND_DATABASE_URL": db.url, "HAND_SECRET": SECRET, "HAND_SCHEMA": db.schema or ""}
    return bastion, hand


def _migrate(environment: dict[str, str]) -> None:
    from bastion.db import create_engine
    from bastion.db.migrations import alembic_config, upgrade_database
    from notes_app.config import NotesSettings

    async def upgrade() -> None:
        engine = create_engine(NotesSettings(**_settings_fields(environment)))
        try:
            await upgrade_database(engine, alembic_config("notes_app:migrations"))
        finally:
            await engine.dispose()

    asyncio.run(upgrade())


def _create_hand_outbox(db: Database) -> None:
    """Create the hand-written app's outbox table beside the example's tables."""

    async def create() -> None:
        options = {"schema_translate_map": {None: db.schema}} if db.schema else {}
        engine = create_async_engine(db.url, poolclass=NullPool, execution_options=options)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(_hand_app.outbox.create)
        finally:
            await engine.dispose()

    asyncio.run(create())


def _settings_fields(environment: dict[str, str]) -> dict[str, str]:
    return {
        key.removeprefix("BASTION_").lower(): value
        for key, value in environment.items()
        if key in ("BASTION_DATABASE_URL", "BASTION_DATABASE_SCHEMA", "BASTION_SECRET_KEY")
    }


def _tokens(port: int, *, register: bool) -> tuple[str, str]:
    """Log in to the example (registering and seeding notes first); mint the hand app's token."""
    email = "bench@example.com"
    with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=60) as client:
        if register:
            client.post("/auth/register", json={"email": email, "password": PASSWORD})
        login = client.post("/auth/login", data={"username": email, "password": PASSWORD})
        login.raise_for_status()
        token: str = login.json()["access_token"]
        if register:
            for index in range(NOTES):
                note = {"title": f"note {index}", "body": "a body of a few words " * 4}
                created = client.post(
                    "/notes", json=note, headers={"Authorization": f"Bearer {token}"}
                )
                created.raise_for_status()
    claims = jwt.decode(token, options={"verify_signature": False})
    hand_claims = {
        "sub": claims["sub"],
        "sid": claims["sid"],
        "iss": _hand_app.ISSUER,
        "aud": _hand_app.AUDIENCE,
        "exp": int(time.time()) + 3600,
    }
    return token, jwt.encode(hand_claims, SECRET, algorithm="HS256")


def _cpus(workers: int) -> tuple[list[int] | None, set[int] | None]:
    """CPUs for the servers and for the load generator (None: not pinned)."""
    if not hasattr(os, "sched_getaffinity"):
        return None, None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None
    servers = cpus[:workers] if len(cpus) > workers else cpus
    client = cpus[workers:] if len(cpus) > workers else cpus[-1:]
    return servers, set(client)


def _run_loop(coroutine: Callable[[], Coroutine[None, None, Result]]) -> Result:
    """Run the load generator on uvloop when installed: it costs less CPU per request."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine())
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine())


def _measure(server: Server, request: bytes, seconds: float, db: Database) -> tuple[Result, int]:
    """One run of `seconds`; also the database connections the server held near its end."""
    wrk_path = shutil.which("wrk")
    if wrk_path:
        result = wrk(wrk_path, server.port, request, seconds=seconds, connections=CONNECTIONS)
        return result, server.database_connections(db.target) or 0

    held = 0

    async def run() -> Result:
        nonlocal held
        task = asyncio.create_task(
            load(server.port, request, seconds=seconds, connections=CONNECTIONS)
        )
        await asyncio.sleep(seconds * 0.8)
        held = server.database_connections(db.target) or 0
        return await task

    return _run_loop(run), held


def _requests(token: str) -> dict[str, bytes]:
    body = b'{"title": "a benchmark note", "body": "written under load"}'
    return {
        "health": request_bytes("GET", "/health"),
        "list": request_bytes("GET", "/api/v1/notes", token=token),
        "create": request_bytes("POST", "/api/v1/notes", token=token, body=body),
    }


Figures = dict[tuple[str, str], list[tuple[Result, int]]]


def _round_robin(servers: dict[str, Server], tokens: dict[str, str], db: Database) -> Figures:
    figures: Figures = {}
    requests = {app: _requests(tokens[app]) for app in servers}
    for round_ in range(ROUNDS):
        for route in ROUTES:
            order = ["hand", "bastion"] if round_ % 2 == 0 else ["bastion", "hand"]
            for app in order:
                _measure(servers[app], requests[app][route], WARMUP, db)
                figure = _measure(servers[app], requests[app][route], SECONDS, db)
                figures.setdefault((app, route), []).append(figure)
    return figures


def _summary(runs: list[tuple[Result, int]]) -> tuple[float, float, float, int, int]:
    results = [result for result, _ in runs]
    return (
        median([r.rate for r in results]),
        median([r.p50 for r in results]),
        median([r.p99 for r in results]),
        sum(r.errors for r in results),
        max(held for _, held in runs),
    )


def _report(workers: int, figures: Figures, verdicts: list[str]) -> None:
    print(
        f"{'route':8} {'app':8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
        f"{'db conns':>8}"
    )
    for route in ROUTES:
        summaries = {app: _summary(figures[app, route]) for app in ("hand", "bastion")}
        for app, (rate, p50, p99, errors, held) in summaries.items():
            print(f"{route:8} {app:8} {rate:8.0f} {p50:8.2f} {p99:8.2f} {errors:7d} {held:8d}")
        rate_ratio = summaries["bastion"][0] / summaries["hand"][0]
        p99_ratio = summaries["bastion"][2] / summaries["hand"][2]
        floor, ceiling = TARGETS[route]
        met = rate_ratio >= floor and (ceiling is None or p99_ratio <= ceiling)
        line = f"{route:8} {workers} worker(s): bastion/hand req/s {rate_ratio:.2f} (>= {floor})"
        line += f", p99 {p99_ratio:.2f}" + (f" (<= {ceiling})" if ceiling else "")
        verdicts.append(f"{line}: {'met' if met else 'MISSED'}")
        print(f"  -> {verdicts[-1]}")


def main() -> None:
    load_tool = "wrk" if shutil.which("wrk") else "asyncio client"
    verdicts: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, _database(Path(tmp)) as db:
        bastion_env, hand_env = _environments(db)
        if os.environ.get("BASTION_REDIS_URL"):
            bastion_env["BASTION_REDIS_URL"] = os.environ["BASTION_REDIS_URL"]
        _migrate(bastion_env)
        _create_hand_outbox(db)
        backend = "PostgreSQL" if db.schema else "SQLite"
        redis = "Redis" if "BASTION_REDIS_URL" in bastion_env else "memory"
        # Without Redis the example delivers its `note.created` events in the server
        # process, as it warns, so each create also pays for its delivery there.
        events = "by `bastion worker` (not run)" if redis == "Redis" else "in the server process"
        print(
            f"{backend}, rate limit on {redis}, events delivered {events}; {load_tool}, "
            f"{CONNECTIONS} connections; {ROUNDS} alternating rounds of {SECONDS:.0f} s per "
            f"route ({'full' if FULL else 'quick; BENCH_MODE=full for more'})"
        )
        for workers in (1, 2):
            servers_cpus, client_cpus = _cpus(workers)
            log = Path(tmp) / f"servers-{workers}.log"
            with ExitStack() as stack:
                servers = {
                    "bastion": stack.enter_context(
                        serve(
                            "notes_app.main:app",
                            workers=workers,
                            cpus=servers_cpus,
                            environment=bastion_env,
                            log=log,
                        )
                    ),
                    "hand": stack.enter_context(
                        serve(
                            "bench._hand_app:app",
                            workers=workers,
                            cpus=servers_cpus,
                            environment=hand_env,
                            log=log,
                            app_dir=REPO,
                        )
                    ),
                }
                bastion_token, hand_token = _tokens(servers["bastion"].port, register=workers == 1)
                previous = os.sched_getaffinity(0) if client_cpus else None
                if client_cpus:
                    os.sched_setaffinity(0, client_cpus)
                print(
                    f"\n{workers} worker(s) on CPUs {servers_cpus or 'any'}, "
                    f"load generator on {sorted(client_cpus) if client_cpus else 'any'}"
                )
                try:
                    tokens = {"bastion": bastion_token, "hand": hand_token}
                    _report(workers, _round_robin(servers, tokens, db), verdicts)
                finally:
                    if previous:
                        os.sched_setaffinity(0, previous)
    print("\ntargets (ratios from this run; the machine's noise applies):")
    for verdict in verdicts:
        print(f"  {verdict}")


if __name__ == "__main__":
    main()
