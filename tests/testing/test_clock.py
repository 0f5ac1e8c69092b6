"""The controllable clock: access tokens, refresh sessions and TOTP codes follow it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pyotp
import pytest

from bastion.testing import ClientFactory, ManualClock, UserFactory

ME = "/api/v1/auth/me"


def test_the_clock_stands_still_until_moved() -> None:
    clock = ManualClock(datetime(2030, 1, 1, tzinfo=UTC))
    assert clock() == clock() == datetime(2030, 1, 1, tzinfo=UTC).timestamp()
    clock.advance(30, minutes=1, hours=1, days=1)
    assert clock.now == datetime(2030, 1, 2, 1, 1, 30, tzinfo=UTC)
    clock.set(0)
    assert clock() == 0.0
    with pytest.raises(ValueError, match="aware"):
        clock.set(datetime(2030, 1, 1))  # the naive datetime refused


async def test_an_access_token_expires_when_the_clock_passes_its_lifetime(
    bastion_client_factory: ClientFactory, bastion_clock: ManualClock
) -> None:
    client = await bastion_client_factory()
    bastion_clock.advance(minutes=14)
    assert (await client.get(ME)).status_code == 200
    bastion_clock.advance(minutes=2)
    expired = await client.get(ME)
    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == "INVALID_TOKEN"


async def test_a_totp_code_is_accepted_for_the_clocks_time_only(
    bastion_client_factory: ClientFactory, bastion_clock: ManualClock
) -> None:
    bastion_clock.advance(hours=3)  # the real time's code is now three hours off
    client = await bastion_client_factory()
    secret = (await client.post("/api/v1/auth/mfa/setup")).json()["secret"]
    totp = pyotp.TOTP(secret)
    real_time_code = totp.at(bastion_clock.now - timedelta(hours=3))
    refused = await client.post("/api/v1/auth/mfa/enable", json={"code": real_time_code})
    assert refused.json()["error"]["code"] == "INVALID_MFA_CODE"
    enabled = await client.post("/api/v1/auth/mfa/enable", json={"code": totp.at(bastion_clock())})
    assert enabled.status_code == 200, enabled.text


async def test_a_refresh_session_ends_at_its_absolute_lifetime_on_the_clock(
    bastion_client: httpx.AsyncClient,
    bastion_user_factory: UserFactory,
    bastion_clock: ManualClock,
) -> None:
    user = await bastion_user_factory()
    login = await bastion_client.post(
        "/api/v1/auth/login", data={"username": user.email, "password": user.password}
    )
    refresh = login.json()["refresh_token"]
    bastion_clock.advance(days=31)
    response = await bastion_client.post("/api/v1/auth/refresh", json={"refresh_token": refresh})
    assert response.status_code == 401
