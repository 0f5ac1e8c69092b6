"""TOTP MFA: setup, enable, the login's second factor, recovery codes, replay, disable."""

from __future__ import annotations

import httpx
import pyotp

from bastion.security import TotpService
from tests.auth.conftest import PASSWORD, AuthApp, bearer, login, register, tokens

Client = tuple[AuthApp, httpx.AsyncClient]
AUTH = "/api/v1/auth"


def _code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


def _totp(built: AuthApp, secret: str, offset: int = 0) -> str:
    service = TotpService(issuer="test", clock=built.clock)
    return service.code_at(secret, service.current_step() + offset)


async def _enable(built: AuthApp, client: httpx.AsyncClient) -> tuple[str, list[str], str]:
    """Register, log in, turn MFA on; return the secret, recovery codes and access token."""
    await register(client)
    access = (await tokens(client))["access_token"]
    setup = await client.post(f"{AUTH}/mfa/setup", headers=bearer(access))
    assert setup.status_code == 200
    secret = setup.json()["secret"]
    assert setup.json()["otpauth_uri"].startswith("otpauth://totp/")
    enabled = await client.post(
        f"{AUTH}/mfa/enable", json={"code": _totp(built, secret)}, headers=bearer(access)
    )
    assert enabled.status_code == 200, enabled.text
    codes = enabled.json()["recovery_codes"]
    assert len(codes) == 10
    assert len(set(codes)) == 10
    built.clock.advance(30)  # the enabling code's step is spent
    return secret, codes, access


async def test_login_with_mfa_returns_only_an_mfa_token(auth: Client) -> None:
    built, client = auth
    await _enable(built, client)
    response = await login(client)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"mfa_required", "mfa_token"}
    assert body["mfa_required"] is True


async def test_totp_completes_the_login_once_per_step(auth: Client) -> None:
    built, client = auth
    secret, _, _ = await _enable(built, client)
    mfa_token = (await login(client)).json()["mfa_token"]
    code = _totp(built, secret)
    ok = await client.post(f"{AUTH}/mfa/verify", json={"mfa_token": mfa_token, "code": code})
    assert ok.status_code == 200
    assert set(ok.json()) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert (await client.get(f"{AUTH}/me", headers=bearer(ok.json()["access_token"]))).json()[
        "mfa_enabled"
    ]
    again = (await login(client)).json()["mfa_token"]
    replay = await client.post(f"{AUTH}/mfa/verify", json={"mfa_token": again, "code": code})
    assert replay.status_code == 401
    assert _code(replay) == "INVALID_MFA_CODE"


async def test_the_mfa_token_is_single_use_and_short_lived(auth: Client) -> None:
    built, client = auth
    secret, codes, _ = await _enable(built, client)
    mfa_token = (await login(client)).json()["mfa_token"]
    first = await client.post(
        f"{AUTH}/mfa/verify", json={"mfa_token": mfa_token, "code": _totp(built, secret)}
    )
    assert first.status_code == 200
    second = await client.post(
        f"{AUTH}/mfa/verify", json={"mfa_token": mfa_token, "code": codes[0]}
    )
    assert _code(second) == "INVALID_TOKEN"
    late = (await login(client)).json()["mfa_token"]
    built.clock.advance(301)
    expired = await client.post(f"{AUTH}/mfa/verify", json={"mfa_token": late, "code": codes[1]})
    assert _code(expired) == "INVALID_TOKEN"
    garbage = await client.post(f"{AUTH}/mfa/verify", json={"mfa_token": "x.y.z", "code": "123456"})
    assert _code(garbage) == "INVALID_TOKEN"


async def test_the_mfa_token_is_refused_as_an_access_or_refresh_token(auth: Client) -> None:
    built, client = auth
    await _enable(built, client)
    mfa_token = (await login(client)).json()["mfa_token"]
    me = await client.get(f"{AUTH}/me", headers=bearer(mfa_token))
    assert me.status_code == 401
    assert _code(me) == "INVALID_TOKEN"
    refresh = await client.post(f"{AUTH}/refresh", json={"refresh_token": mfa_token})
    assert _code(refresh) == "INVALID_TOKEN"


async def test_an_access_token_is_not_an_mfa_token(auth: Client) -> None:
    built, client = auth
    _, _, access = await _enable(built, client)
    response = await client.post(f"{AUTH}/mfa/verify", json={"mfa_token": access, "code": "123456"})
    assert _code(response) == "INVALID_TOKEN"


async def test_a_recovery_code_works_once(auth: Client) -> None:
    built, client = auth
    _, codes, _ = await _enable(built, client)
    first = (await login(client)).json()["mfa_token"]
    typed = codes[0].upper().replace("-", " ")  # case and separators do not matter
    ok = await client.post(f"{AUTH}/mfa/verify", json={"mfa_token": first, "code": typed})
    assert ok.status_code == 200
    second = (await login(client)).json()["mfa_token"]
    reuse = await client.post(f"{AUTH}/mfa/verify", json={"mfa_token": second, "code": codes[0]})
    assert reuse.status_code == 401
    assert _code(reuse) == "INVALID_MFA_CODE"


async def test_bad_codes_are_throttled_like_logins(auth: Client) -> None:
    built, client = auth
    secret, _, _ = await _enable(built, client)
    mfa_token = (await login(client)).json()["mfa_token"]
    statuses = []
    for _ in range(6):
        response = await client.post(
            f"{AUTH}/mfa/verify", json={"mfa_token": mfa_token, "code": "000000"}
        )
        statuses.append(response.status_code)
    assert statuses == [401] * 5 + [429]
    right = await client.post(
        f"{AUTH}/mfa/verify", json={"mfa_token": mfa_token, "code": _totp(built, secret)}
    )
    assert right.status_code == 429
    assert _code(right) == "RATE_LIMITED"
    assert int(right.headers["retry-after"]) >= 1


async def test_disable_needs_a_valid_code_and_revokes_other_sessions(auth: Client) -> None:
    built, client = auth
    secret, _, access = await _enable(built, client)
    mfa_token = (await login(client)).json()["mfa_token"]
    other = await client.post(
        f"{AUTH}/mfa/verify", json={"mfa_token": mfa_token, "code": _totp(built, secret)}
    )
    other_access = other.json()["access_token"]
    built.clock.advance(30)
    bad = await client.post(f"{AUTH}/mfa/disable", json={"code": "000000"}, headers=bearer(access))
    assert bad.status_code == 401
    assert _code(bad) == "INVALID_MFA_CODE"
    me = await client.get(f"{AUTH}/me", headers=bearer(access))
    assert me.json()["mfa_enabled"] is True
    ok = await client.post(
        f"{AUTH}/mfa/disable", json={"code": _totp(built, secret)}, headers=bearer(access)
    )
    assert ok.status_code == 204
    assert (await client.get(f"{AUTH}/me", headers=bearer(access))).json()["mfa_enabled"] is False
    assert (await client.get(f"{AUTH}/me", headers=bearer(other_access))).status_code == 401
    assert ("mfa_change", False) in built.hooks.events
    pair = await login(client)
    assert "access_token" in pair.json()


async def test_mfa_state_errors(auth: Client) -> None:
    built, client = auth
    await register(client)
    access = (await tokens(client))["access_token"]
    not_set_up = await client.post(
        f"{AUTH}/mfa/enable", json={"code": "123456"}, headers=bearer(access)
    )
    assert _code(not_set_up) == "MFA_NOT_SET_UP"
    not_enabled = await client.post(
        f"{AUTH}/mfa/disable", json={"code": "123456"}, headers=bearer(access)
    )
    assert _code(not_enabled) == "MFA_NOT_ENABLED"
    secret = (await client.post(f"{AUTH}/mfa/setup", headers=bearer(access))).json()["secret"]
    wrong = await client.post(f"{AUTH}/mfa/enable", json={"code": "000000"}, headers=bearer(access))
    assert _code(wrong) == "INVALID_MFA_CODE"
    code = pyotp.TOTP(secret).at(built.clock.now)
    assert (
        await client.post(f"{AUTH}/mfa/enable", json={"code": code}, headers=bearer(access))
    ).status_code == 200
    again = await client.post(f"{AUTH}/mfa/setup", headers=bearer(access))
    assert again.status_code == 409
    assert _code(again) == "MFA_ALREADY_ENABLED"


async def test_the_totp_secret_is_stored_encrypted(auth: Client) -> None:
    built, client = auth
    secret, _, _ = await _enable(built, client)
    from bastion.db import UnitOfWork

    resources = built.app.state.resources
    async with UnitOfWork(resources.sessionmaker) as uow:
        service = resources.auth.accounts(uow, resources.limiter)
        user = await service.repo.user_by_email("ada@example.com")
    assert user is not None
    assert user.totp_secret_encrypted is not None
    assert secret not in user.totp_secret_encrypted
    assert user.totp_secret_encrypted.startswith("v1.")


async def test_enabling_mfa_revokes_the_other_sessions(auth: Client) -> None:
    built, client = auth
    await register(client)
    here = (await tokens(client))["access_token"]
    elsewhere = (await tokens(client))["access_token"]
    secret = (await client.post(f"{AUTH}/mfa/setup", headers=bearer(here))).json()["secret"]
    enabled = await client.post(
        f"{AUTH}/mfa/enable", json={"code": _totp(built, secret)}, headers=bearer(here)
    )
    assert enabled.status_code == 200
    assert (await client.get(f"{AUTH}/me", headers=bearer(here))).status_code == 200
    gone = await client.get(f"{AUTH}/me", headers=bearer(elsewhere))
    assert _code(gone) == "INVALID_TOKEN"
    assert ("mfa_change", True) in built.hooks.events


async def test_a_password_change_closes_the_second_factor_challenges_of_earlier_logins(
    auth: Client,
) -> None:
    built, client = auth
    secret, codes, access = await _enable(built, client)
    pending = (await login(client)).json()["mfa_token"]  # the password was right, then
    changed = await client.post(
        f"{AUTH}/password",
        json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
        headers=bearer(access),
    )
    assert changed.status_code == 204, changed.text
    for code in (_totp(built, secret), codes[0]):
        late = await client.post(f"{AUTH}/mfa/verify", json={"mfa_token": pending, "code": code})
        assert late.status_code == 401, late.text
        assert _code(late) == "INVALID_TOKEN"
