"""Helpers for the throttle tests: clients at chosen IPs, MFA on, a clock that moves `time.time`."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from bastion.security import TotpService
from tests.auth.conftest import AuthApp, bearer, tokens

AUTH = "/api/v1/auth"
WRONG = "definitely not the password"


@asynccontextmanager
async def from_ip(app: FastAPI, ip: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app whose lifespan already runs, whose requests come from `ip`."""
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def totp(built: AuthApp, secret: str) -> str:
    """The current TOTP code of `secret` on the app's clock."""
    service = TotpService(issuer="test", clock=built.clock)
    return service.code_at(secret, service.current_step())


async def enable_mfa(built: AuthApp, client: httpx.AsyncClient, email: str) -> str:
    """Turn MFA on for a registered `email`; return its TOTP secret."""
    access = (await tokens(client, email))["access_token"]
    secret: str = (await client.post(f"{AUTH}/mfa/setup", headers=bearer(access))).json()["secret"]
    enabled = await client.post(
        f"{AUTH}/mfa/enable", json={"code": totp(built, secret)}, headers=bearer(access)
    )
    assert enabled.status_code == 200, enabled.text
    built.clock.advance(30)  # the enabling code's step is spent
    return secret


class WallClock:
    """Epoch time as the rate limiter and `limits` read it, moved by hand."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, start: float) -> None:
        """Patch `time.time` to this clock."""
        self.now = start
        monkeypatch.setattr(time, "time", self)

    def __call__(self) -> float:
        """The current time."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds
