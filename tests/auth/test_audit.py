"""Audit events: each auth action writes its `bastion.audit` line exactly once, and no secret."""

from __future__ import annotations

import logging
import uuid

import httpx
import pytest

from bastion.auth import AUDIT_LOGGER
from bastion.db import UnitOfWork
from bastion.errors import PermissionDeniedError
from bastion.observability import JsonFormatter
from tests.auth.conftest import (
    PASSWORD,
    AppFactory,
    AuthApp,
    bearer,
    login,
    register,
    tokens,
)
from tests.auth.helpers import WRONG, from_ip
from tests.auth.test_mfa import _enable, _totp
from tests.conftest import serve

Client = tuple[AuthApp, httpx.AsyncClient]
AUTH = "/api/v1/auth"
EMAIL = "ada@example.com"
#: The address `httpx.ASGITransport` gives its requests.
CLIENT_IP = "127.0.0.1"


class AuditLines:
    """The audit records written since the last `clear`."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        """Capture the audit logger at INFO."""
        self.caplog = caplog
        caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)

    def records(self) -> list[logging.LogRecord]:
        """The audit records, in order."""
        return [r for r in self.caplog.records if r.name == AUDIT_LOGGER]

    def events(self) -> list[str]:
        """The event names, in order."""
        return [str(r.event) for r in self.records()]  # type: ignore[attr-defined]

    def one(self, event: str) -> logging.LogRecord:
        """The only record written since `clear`, which must be `event`."""
        assert self.events() == [event]
        return self.records()[0]

    def clear(self) -> None:
        """Forget what was captured so far."""
        self.caplog.clear()


@pytest.fixture
def audit(caplog: pytest.LogCaptureFixture) -> AuditLines:
    """The audit lines the test's requests write."""
    return AuditLines(caplog)


def _user_id(body: dict[str, object]) -> str:
    return str(body["id"])


def _fields(record: logging.LogRecord) -> dict[str, object]:
    return {
        key: getattr(record, key, None)
        for key in ("event", "outcome", "user_id", "client_ip", "request_id")
    }


async def test_registering_writes_user_registered_once_with_the_request_id(
    auth: Client, audit: AuditLines
) -> None:
    _, client = auth
    response = await client.post(f"{AUTH}/register", json={"email": EMAIL, "password": PASSWORD})
    record = audit.one("user.registered")
    assert record.levelno == logging.INFO
    assert _fields(record) == {
        "event": "user.registered",
        "outcome": "success",
        "user_id": response.json()["id"],
        "client_ip": CLIENT_IP,
        "request_id": response.headers["x-request-id"],
    }


async def test_a_registration_rolled_back_by_its_hook_claims_nothing(
    make_app: AppFactory, audit: AuditLines
) -> None:
    built = make_app()
    built.hooks.failing["register"] = PermissionDeniedError("Refused by a hook.")
    async with serve(built.app) as client:
        response = await client.post(
            f"{AUTH}/register", json={"email": EMAIL, "password": PASSWORD}
        )
    assert response.status_code == 403
    assert audit.events() == []


async def test_a_login_writes_login_succeeded_once_naming_its_session(
    auth: Client, audit: AuditLines
) -> None:
    _, client = auth
    user = await register(client)
    audit.clear()
    response = await login(client)
    record = audit.one("login.succeeded")
    assert _fields(record) == {
        "event": "login.succeeded",
        "outcome": "success",
        "user_id": _user_id(user),
        "client_ip": CLIENT_IP,
        "request_id": response.headers["x-request-id"],
    }
    assert record.mfa is False  # type: ignore[attr-defined]
    assert uuid.UUID(str(record.session_id))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("email", "password", "reason", "known"),
    [
        (EMAIL, WRONG, "wrong_password", True),
        ("nobody@example.com", PASSWORD, "unknown_account", False),
    ],
)
async def test_a_refused_login_writes_login_failed_once(
    auth: Client, audit: AuditLines, email: str, password: str, reason: str, known: bool
) -> None:
    _, client = auth
    user = await register(client)
    audit.clear()
    response = await login(client, email, password)
    assert response.status_code == 401
    record = audit.one("login.failed")
    assert record.levelno == logging.WARNING
    assert record.outcome == "failure"  # type: ignore[attr-defined]
    assert record.reason == reason  # type: ignore[attr-defined]
    assert record.user_id == (_user_id(user) if known else None)  # type: ignore[attr-defined]
    assert record.request_id == response.headers["x-request-id"]
    # The account is named by a keyed hash, the same for every attempt on it.
    await login(client, email, password)
    assert len({r.account for r in audit.records()}) == 1  # type: ignore[attr-defined]


async def test_an_inactive_account_with_the_right_password_is_a_failed_login(
    auth: Client, audit: AuditLines
) -> None:
    built, client = auth
    user = await register(client)
    await _deactivate(built, uuid.UUID(_user_id(user)))
    audit.clear()
    assert (await login(client)).status_code == 401
    record = audit.one("login.failed")
    assert record.reason == "inactive"  # type: ignore[attr-defined]


async def test_a_throttled_login_writes_login_throttled_and_no_failure(
    make_app: AppFactory, audit: AuditLines
) -> None:
    built = make_app(auth_login_limit="2/minute")
    async with serve(built.app) as client:
        await register(client)
        await login(client, EMAIL, WRONG)
        await login(client, EMAIL, WRONG)
        audit.clear()
        response = await login(client, EMAIL, WRONG)
    assert response.status_code == 429
    record = audit.one("login.throttled")
    assert record.outcome == "throttled"  # type: ignore[attr-defined]
    assert record.factor == "password"  # type: ignore[attr-defined]
    assert record.request_id == response.headers["x-request-id"]


async def test_the_second_factor_writes_passed_then_login_succeeded(
    auth: Client, audit: AuditLines
) -> None:
    built, client = auth
    secret, _, _ = await _enable(built, client)
    mfa_token = (await login(client)).json()["mfa_token"]
    assert audit.events()[-1] == "mfa.enabled"  # the password step alone logs no login
    audit.clear()
    response = await client.post(
        f"{AUTH}/mfa/verify", json={"mfa_token": mfa_token, "code": _totp(built, secret)}
    )
    assert response.status_code == 200
    assert audit.events() == ["mfa.challenge_passed", "login.succeeded"]
    assert {r.request_id for r in audit.records()} == {response.headers["x-request-id"]}
    assert audit.records()[1].mfa is True  # type: ignore[attr-defined]


async def test_a_wrong_second_factor_writes_challenge_failed_once(
    auth: Client, audit: AuditLines
) -> None:
    built, client = auth
    await _enable(built, client)
    mfa_token = (await login(client)).json()["mfa_token"]
    audit.clear()
    response = await client.post(
        f"{AUTH}/mfa/verify", json={"mfa_token": mfa_token, "code": "000000"}
    )
    assert response.status_code == 401
    record = audit.one("mfa.challenge_failed")
    assert record.reason == "wrong_code"  # type: ignore[attr-defined]
    assert record.outcome == "failure"  # type: ignore[attr-defined]
    assert record.client_ip == CLIENT_IP  # type: ignore[attr-defined]


async def test_a_throttled_second_factor_writes_login_throttled(
    auth: Client, audit: AuditLines
) -> None:
    built, client = auth
    await _enable(built, client)
    mfa_token = (await login(client)).json()["mfa_token"]
    for _ in range(5):
        await client.post(f"{AUTH}/mfa/verify", json={"mfa_token": mfa_token, "code": "000000"})
    audit.clear()
    response = await client.post(
        f"{AUTH}/mfa/verify", json={"mfa_token": mfa_token, "code": "000000"}
    )
    assert response.status_code == 429
    assert audit.one("login.throttled").factor == "mfa"  # type: ignore[attr-defined]


async def test_a_recovery_code_writes_recovery_code_used_once(
    auth: Client, audit: AuditLines
) -> None:
    built, client = auth
    _, codes, _ = await _enable(built, client)
    mfa_token = (await login(client)).json()["mfa_token"]
    audit.clear()
    response = await client.post(
        f"{AUTH}/mfa/verify", json={"mfa_token": mfa_token, "code": codes[0]}
    )
    assert response.status_code == 200
    assert audit.events() == ["mfa.recovery_code_used", "mfa.challenge_passed", "login.succeeded"]


async def test_turning_mfa_on_and_off_writes_one_event_each(
    auth: Client, audit: AuditLines
) -> None:
    built, client = auth
    await register(client)
    access = (await tokens(client))["access_token"]
    secret = (await client.post(f"{AUTH}/mfa/setup", headers=bearer(access))).json()["secret"]
    audit.clear()
    enabled = await client.post(
        f"{AUTH}/mfa/enable", json={"code": _totp(built, secret)}, headers=bearer(access)
    )
    assert enabled.status_code == 200
    assert audit.one("mfa.enabled").request_id == enabled.headers["x-request-id"]
    built.clock.advance(30)
    audit.clear()
    disabled = await client.post(
        f"{AUTH}/mfa/disable", json={"code": _totp(built, secret)}, headers=bearer(access)
    )
    assert disabled.status_code == 204
    assert audit.one("mfa.disabled").client_ip == CLIENT_IP  # type: ignore[attr-defined]


async def test_reusing_a_refresh_token_writes_reuse_detected_once(
    auth: Client, audit: AuditLines
) -> None:
    _, client = auth
    user = await register(client)
    pair = await tokens(client)
    await client.post(f"{AUTH}/refresh", json={"refresh_token": pair["refresh_token"]})
    audit.clear()
    reused = await client.post(f"{AUTH}/refresh", json={"refresh_token": pair["refresh_token"]})
    assert reused.status_code == 401
    record = audit.one("refresh.reuse_detected")
    assert record.levelno == logging.WARNING
    assert record.user_id == _user_id(user)  # type: ignore[attr-defined]
    assert record.request_id == reused.headers["x-request-id"]


async def test_logging_out_writes_session_logout_once(auth: Client, audit: AuditLines) -> None:
    _, client = auth
    user = await register(client)
    pair = await tokens(client)
    audit.clear()
    async with from_ip(auth[0].app, "198.51.100.7") as elsewhere:
        response = await elsewhere.post(
            f"{AUTH}/logout", json={"refresh_token": pair["refresh_token"]}
        )
    assert response.status_code == 204
    record = audit.one("session.logout")
    assert record.user_id == _user_id(user)  # type: ignore[attr-defined]
    assert record.client_ip == "198.51.100.7"  # type: ignore[attr-defined]


async def test_logging_out_an_ended_session_again_is_204_and_writes_nothing(
    auth: Client, audit: AuditLines
) -> None:
    _, client = auth
    await register(client)
    pair = await tokens(client)
    body = {"refresh_token": pair["refresh_token"]}
    assert (await client.post(f"{AUTH}/logout", json=body)).status_code == 204
    audit.clear()
    again = await client.post(f"{AUTH}/logout", json=body)
    assert again.status_code == 204  # logging out is idempotent
    assert audit.events() == []  # but nothing happened: no second event, no hook


async def test_changing_the_password_writes_password_changed_once(
    auth: Client, audit: AuditLines
) -> None:
    _, client = auth
    await register(client)
    access = (await tokens(client))["access_token"]
    audit.clear()
    response = await client.post(
        f"{AUTH}/password",
        json={"current_password": PASSWORD, "new_password": "another long passphrase here"},
        headers=bearer(access),
    )
    assert response.status_code == 204
    assert audit.one("password.changed").request_id == response.headers["x-request-id"]


async def _service_call(built: AuthApp, action: str, target: uuid.UUID | str) -> None:
    resources = built.app.state.resources
    async with UnitOfWork(resources.sessionmaker) as uow:
        service = resources.auth.accounts(uow, resources.limiter)
        if action == "grant":
            await service.grant_role(str(target), "admin")
        else:
            assert isinstance(target, uuid.UUID)
            await service.set_active(target, active=action == "activate")


async def _deactivate(built: AuthApp, user_id: uuid.UUID) -> None:
    await _service_call(built, "deactivate", user_id)


async def test_granting_a_role_writes_role_granted_once_and_not_again_when_held(
    auth: Client, audit: AuditLines
) -> None:
    built, client = auth
    user = await register(client)
    audit.clear()
    await _service_call(built, "grant", EMAIL)
    record = audit.one("role.granted")
    assert record.role == "admin"  # type: ignore[attr-defined]
    assert record.user_id == _user_id(user)  # type: ignore[attr-defined]
    audit.clear()
    await _service_call(built, "grant", EMAIL)
    assert audit.events() == []


async def test_deactivating_a_user_writes_user_deactivated_once(
    auth: Client, audit: AuditLines
) -> None:
    built, client = auth
    user = await register(client)
    audit.clear()
    await _deactivate(built, uuid.UUID(_user_id(user)))
    assert audit.one("user.deactivated").user_id == _user_id(user)  # type: ignore[attr-defined]
    audit.clear()
    await _service_call(built, "activate", uuid.UUID(_user_id(user)))
    assert audit.one("user.activated").outcome == "success"  # type: ignore[attr-defined]


async def test_a_write_rolled_back_after_the_step_writes_no_event(
    auth: Client, audit: AuditLines
) -> None:
    built, client = auth
    user = await register(client)
    audit.clear()
    resources = built.app.state.resources

    async def deactivate_then_fail() -> None:
        async with UnitOfWork(resources.sessionmaker) as uow:
            service = resources.auth.accounts(uow, resources.limiter)
            await service.set_active(uuid.UUID(_user_id(user)), active=False)
            raise RuntimeError("the caller fails after the step")

    with pytest.raises(RuntimeError):
        await deactivate_then_fail()
    assert audit.events() == []
    assert (await login(client)).status_code == 200  # and the account is still active


async def test_no_audit_line_holds_a_password_token_code_or_email(
    auth: Client, audit: AuditLines
) -> None:
    built, client = auth
    secret, codes, access = await _enable(built, client)
    mfa_token = (await login(client)).json()["mfa_token"]
    await client.post(f"{AUTH}/mfa/verify", json={"mfa_token": mfa_token, "code": "000000"})
    code = _totp(built, secret)
    pair = (
        await client.post(f"{AUTH}/mfa/verify", json={"mfa_token": mfa_token, "code": code})
    ).json()
    await client.post(f"{AUTH}/refresh", json={"refresh_token": pair["refresh_token"]})
    await client.post(f"{AUTH}/refresh", json={"refresh_token": pair["refresh_token"]})
    await login(client, EMAIL, WRONG)
    await login(client, "Nobody@Example.com", PASSWORD)
    # (the 6-digit TOTP code is left out: digits like it turn up in any timestamp)
    secrets = [PASSWORD, WRONG, EMAIL, "nobody@example.com", secret, mfa_token, access]
    secrets += [pair["access_token"], pair["refresh_token"], *codes]
    formatter = JsonFormatter()
    lines = [formatter.format(record) for record in audit.records()]
    assert len(lines) >= 8
    for line in lines:
        lowered = line.lower()
        assert not [s for s in secrets if s.lower() in lowered], line
