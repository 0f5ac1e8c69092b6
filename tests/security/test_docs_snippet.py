"""The security page's snippet runs and does what the page says."""

from __future__ import annotations

import pytest

from bastion.core import BastionSettings
from bastion.security import TotpService, WeakPasswordError
from tests.snippets import load_snippet


async def test_the_security_snippet_registers_logs_in_and_checks_mfa(
    fast_settings: BastionSettings,
) -> None:
    snippet = load_snippet("security_primitives")
    with pytest.raises(WeakPasswordError):
        await snippet.register(fast_settings, "bob@example.com", "bob")
    account = await snippet.register(fast_settings, "bob@example.com", "a long pass phrase")
    assert await snippet.login(fast_settings, account, "wrong password here") is None
    assert await snippet.login(fast_settings, None, "a long pass phrase") is None
    access, refresh = await snippet.login(fast_settings, account, "a long pass phrase")
    assert access.count(".") == 2
    assert len(refresh) >= 43

    uri, codes = snippet.enable_mfa(fast_settings, account)
    assert uri.startswith("otpauth://totp/")
    assert len(codes) == 10
    secret = uri.split("secret=")[1].split("&")[0]
    totp = TotpService.from_settings(fast_settings)
    code = totp.code_at(secret, totp.current_step())
    assert snippet.check_mfa(fast_settings, account, code)
    assert not snippet.check_mfa(fast_settings, account, code)  # replay refused


async def test_login_rehashes_when_the_parameters_change(fast_settings: BastionSettings) -> None:
    snippet = load_snippet("security_primitives")
    account = await snippet.register(fast_settings, "ann@example.com", "a long pass phrase")
    stronger = fast_settings.model_copy(update={"password_hash_time_cost": 2})
    old_hash = account.password_hash
    assert await snippet.login(stronger, account, "a long pass phrase") is not None
    assert account.password_hash != old_hash
    assert "t=2" in account.password_hash
