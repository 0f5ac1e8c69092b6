"""Signed double-submit CSRF tokens bound to the session."""

from __future__ import annotations

import pytest

from bastion.core import BastionSettings
from bastion.security import CsrfFailedError, CsrfTokens


@pytest.fixture
def csrf(fast_settings: BastionSettings) -> CsrfTokens:
    return CsrfTokens.from_settings(fast_settings)


def test_a_token_verifies_for_its_own_session(csrf: CsrfTokens) -> None:
    token = csrf.generate("session-1")
    assert csrf.verify(token, "session-1")
    assert csrf.verify_double_submit(token, token, "session-1")


def test_tokens_are_random_per_issue(csrf: CsrfTokens) -> None:
    assert csrf.generate("s") != csrf.generate("s")


def test_a_token_from_another_session_is_refused(csrf: CsrfTokens) -> None:
    assert not csrf.verify(csrf.generate("attacker-session"), "victim-session")


def test_a_token_signed_with_another_key_is_refused(
    csrf: CsrfTokens, fast_settings: BastionSettings
) -> None:
    other = fast_settings.model_copy(update={"secret_key": "a-different-secret-key-" * 2})
    assert not csrf.verify(CsrfTokens.from_settings(other).generate("s"), "s")


@pytest.mark.parametrize("token", [None, "", ".", "abc", "abc.def", "!!!.???", "é.é", "AAAA.AAAA"])
def test_missing_or_malformed_tokens_are_refused(csrf: CsrfTokens, token: str | None) -> None:
    assert not csrf.verify(token, "s")


def test_a_tampered_token_is_refused(csrf: CsrfTokens) -> None:
    token = csrf.generate("s")
    nonce, mac = token.split(".")
    flipped = ("B" if mac[0] == "A" else "A") + mac[1:]
    assert not csrf.verify(f"{nonce}.{flipped}", "s")
    other_nonce = ("B" if nonce[0] == "A" else "A") + nonce[1:]
    assert not csrf.verify(f"{other_nonce}.{mac}", "s")


@pytest.mark.parametrize(("header", "cookie"), [(None, "x"), ("x", None), ("x", "y")])
def test_the_double_submit_needs_header_and_cookie_to_agree(
    csrf: CsrfTokens, header: str | None, cookie: str | None
) -> None:
    token = csrf.generate("s")
    header = token if header == "x" else header
    cookie = token if cookie == "x" else cookie
    assert not csrf.verify_double_submit(header, cookie, "s")


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        CsrfTokens(b"short")


def test_the_failure_error_is_403_csrf_failed() -> None:
    error = CsrfFailedError()
    assert (error.status_code, error.code) == (403, "CSRF_FAILED")
