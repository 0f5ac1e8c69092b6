"""Argon2 capacity under a login flood (in-process ASGI, default argon2 parameters).

One client IP floods `POST /login` at its full budget: several concurrent workers, each
guessing a new e-mail with a wrong password (every guess costs a hash), retrying soon after
each 429. Meanwhile another IP logs in with the right password, one login after another.
The bench prints that login's median time unloaded and under the flood, and their ratio:
the flood must leave it within 2x its unloaded time. What keeps it there: a client has at
most one hash waiting or running (the flooder's next guess queues behind the other IP's
login), its hashes per minute are capped at half the measured hash rate, and the queue is
bounded (503 at once past it).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import statistics
import tempfile
import time
import urllib.parse
from collections import Counter
from pathlib import Path

import httpx
from fastapi import FastAPI

from bastion.core import BastionSettings
from bench._asgi import Scope, call, http_scope, lifespan
from bench.auth import PASSWORD, SECRET, _app

FLOOD_IP = "203.0.113.66"
USER_IP = "198.51.100.7"
FLOOD_WORKERS = 4
LOGINS = 9  # the other IP's logins, in each phase
RETRY_PAUSE = 0.05  # a refused flooder retries this soon: it stays at its budget


def _login_scope(ip: str) -> Scope:
    scope = http_scope(
        "POST",
        "/api/v1/auth/login",
        headers=[(b"content-type", b"application/x-www-form-urlencoded")],
    )
    scope["client"] = (ip, 40000)
    return scope


def _form(email: str, password: str) -> bytes:
    return urllib.parse.urlencode({"username": email, "password": password}).encode()


async def _logins(app: FastAPI, form: bytes, count: int) -> list[float]:
    """Seconds each of `count` sequential logins of the other IP took."""
    scope = _login_scope(USER_IP)
    seconds = []
    for _ in range(count):
        started = time.perf_counter()
        status = await call(app, scope, form)
        seconds.append(time.perf_counter() - started)
        assert status == 200, f"the measured login answered {status}"
    return seconds


async def _flood(app: FastAPI, stop: asyncio.Event, statuses: Counter[int]) -> None:
    scope = _login_scope(FLOOD_IP)
    while not stop.is_set():
        guess = _form(f"guess-{secrets.token_hex(6)}@example.com", "not the password")
        status = await call(app, scope, guess)
        statuses[status] += 1
        if status != 401:  # refused without a hash: come back soon, as a flood would
            await asyncio.sleep(RETRY_PAUSE)


async def run() -> None:
    for name in ("bastion.access", "bastion.ratelimit", "httpx"):
        logger = logging.getLogger(name)
        logger.propagate = False
        logger.addHandler(logging.NullHandler())
    with tempfile.TemporaryDirectory() as tmp:
        settings = BastionSettings(
            environment="test",
            secret_key=SECRET,
            configure_logging=False,
            database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'capacity.db'}",
        )
        app = _app(settings)
        context = await lifespan(app)
        try:
            email = "owner@example.com"
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
                body = {"email": email, "password": PASSWORD}
                (await client.post("/api/v1/auth/register", json=body)).raise_for_status()
            form = _form(email, PASSWORD)
            idle = await _logins(app, form, LOGINS)
            stop = asyncio.Event()
            statuses: Counter[int] = Counter()
            flooders = [
                asyncio.create_task(_flood(app, stop, statuses)) for _ in range(FLOOD_WORKERS)
            ]
            await asyncio.sleep(1.0)  # the flood is under way
            flooded = await _logins(app, form, LOGINS)
            stop.set()
            await asyncio.gather(*flooders)
            hasher = app.state.resources.auth.hasher
            print(
                f"argon2id t={settings.password_hash_time_cost} "
                f"m={settings.password_hash_memory_cost} KiB p={settings.password_hash_parallelism}"
                f", hashing concurrency {hasher.concurrency}, queue {hasher.queue_limit}, "
                f"{hasher.rate or 0:.1f} hashes/s measured"
            )
            print(f"  flood answers               {dict(sorted(statuses.items()))}")
            idle_median, flooded_median = statistics.median(idle), statistics.median(flooded)
            print(f"  other IP's login, unloaded  {idle_median * 1000:8.1f} ms (median)")
            print(f"  other IP's login, flooded   {flooded_median * 1000:8.1f} ms (median)")
            ratio = flooded_median / idle_median
            verdict = "within" if ratio < 2 else "NOT within"
            print(f"  ratio                       {ratio:8.2f}x ({verdict} 2x)")
        finally:
            await context.__aexit__(None, None, None)


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
