"""TOTP: RFC 6238 codes, the ±1 step window, the replay guard and provisioning."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlparse

import pytest

from bastion.core import BastionSettings
from bastion.security import TotpService
from tests.security.conftest import T0, FakeClock

# RFC 6238 appendix B: the SHA-1 seed "12345678901234567890".
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


@pytest.fixture
def totp(clock: FakeClock) -> TotpService:
    return TotpService(issuer="Notes", clock=clock)


def test_codes_match_the_rfc_6238_test_vectors() -> None:
    for now, code in [(59, "287082"), (1111111109, "081804"), (2000000000, "279037")]:
        service = TotpService(issuer="t", clock=lambda now=now: float(now))
        assert service.code_at(RFC_SECRET, service.current_step()) == code
        assert service.verify(RFC_SECRET, code) == now // 30


def test_generated_secrets_are_160_bit_base32_and_unique(totp: TotpService) -> None:
    secrets = {totp.generate_secret() for _ in range(50)}
    assert len(secrets) == 50
    for secret in secrets:
        assert len(secret) == 32
        assert len(base64.b32decode(secret)) == 20


def test_the_provisioning_uri_names_the_issuer_account_and_secret(totp: TotpService) -> None:
    secret = totp.generate_secret()
    uri = urlparse(totp.provisioning_uri(secret, "bob@example.com"))
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert uri.path == "/Notes:bob%40example.com"
    query = parse_qs(uri.query)
    assert query["secret"] == [secret]
    assert query["issuer"] == ["Notes"]


def test_the_issuer_comes_from_the_app_name(fast_settings: BastionSettings) -> None:
    assert TotpService.from_settings(fast_settings).issuer == "notesapp"


def test_the_current_code_verifies_and_returns_its_step(
    totp: TotpService, clock: FakeClock
) -> None:
    secret = totp.generate_secret()
    step = T0 // 30
    assert totp.current_step() == step
    assert totp.verify(secret, totp.code_at(secret, step)) == step


@pytest.mark.parametrize("offset", [-1, 1])
def test_the_neighbouring_steps_are_accepted(totp: TotpService, offset: int) -> None:
    secret = totp.generate_secret()
    step = totp.current_step() + offset
    assert totp.verify(secret, totp.code_at(secret, step)) == step


@pytest.mark.parametrize("offset", [-3, -2, 2, 3])
def test_steps_outside_the_window_are_refused(totp: TotpService, offset: int) -> None:
    secret = totp.generate_secret()
    code = totp.code_at(secret, totp.current_step() + offset)
    # Guard against a chance collision with a code inside the window.
    window = {totp.code_at(secret, totp.current_step() + d) for d in (-1, 0, 1)}
    if code not in window:
        assert totp.verify(secret, code) is None


def test_a_code_is_accepted_once_per_step_replay_is_refused(
    totp: TotpService, clock: FakeClock
) -> None:
    secret = totp.generate_secret()
    code = totp.code_at(secret, totp.current_step())
    last = totp.verify(secret, code)
    assert last is not None
    # The same code again, within the same step: refused.
    assert totp.verify(secret, code, last_step=last) is None
    # Still refused while it remains inside the window, one step later.
    clock.advance(30)
    assert totp.verify(secret, code, last_step=last) is None
    # The new step's code is accepted and moves the guard forward.
    fresh = totp.code_at(secret, totp.current_step())
    assert totp.verify(secret, fresh, last_step=last) == last + 1


def test_an_older_step_is_refused_after_a_newer_one_was_used(totp: TotpService) -> None:
    secret = totp.generate_secret()
    step = totp.current_step()
    newer = totp.verify(secret, totp.code_at(secret, step + 1))
    assert newer == step + 1
    assert totp.verify(secret, totp.code_at(secret, step), last_step=newer) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 34 5", "١٢٣٤٥٦"])
def test_malformed_codes_are_refused(totp: TotpService, code: str) -> None:
    assert totp.verify(totp.generate_secret(), code) is None


def test_spaces_inside_a_code_are_ignored(totp: TotpService) -> None:
    secret = totp.generate_secret()
    code = totp.code_at(secret, totp.current_step())
    assert totp.verify(secret, f"{code[:3]} {code[3:]}") == totp.current_step()


def test_a_code_for_another_secret_is_refused(totp: TotpService) -> None:
    mine, theirs = totp.generate_secret(), totp.generate_secret()
    step = totp.current_step()
    code = totp.code_at(theirs, step)
    if code not in {totp.code_at(mine, step + d) for d in (-1, 0, 1)}:
        assert totp.verify(mine, code) is None


def test_the_window_is_configurable(clock: FakeClock) -> None:
    strict = TotpService(issuer="t", window=0, clock=clock)
    secret = strict.generate_secret()
    step = strict.current_step()
    assert strict.verify(secret, strict.code_at(secret, step)) == step
    previous = strict.code_at(secret, step - 1)
    if previous != strict.code_at(secret, step):
        assert strict.verify(secret, previous) is None
