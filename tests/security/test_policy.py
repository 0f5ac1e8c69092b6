"""The NIST SP 800-63B password policy: length, common passwords, context words, extra checks."""

from __future__ import annotations

import subprocess
import sys
import unicodedata
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pytest

from bastion.core import BastionSettings
from bastion.security import (
    PasswordPolicy,
    WeakPasswordError,
    WeakPasswordReason,
    load_common_passwords,
)

ROOT = Path(__file__).parents[2]


@pytest.fixture
def policy(fast_settings: BastionSettings) -> PasswordPolicy:
    return PasswordPolicy.from_settings(fast_settings)


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",  # spaces
        "пароль для моей почты",  # Cyrillic
        "🔒🔑🗝️🔐🛡️⚔️🏰🧱🚪🪟🔦🕯️",  # emoji only
        "x" * 12,  # exactly the minimum, no composition rules
        "y" * 128,  # exactly the maximum
        "   leading and trailing spaces   ",
    ],
)
async def test_long_passwords_of_any_characters_are_accepted(
    policy: PasswordPolicy, password: str
) -> None:
    assert await policy.check(password) == []


@pytest.mark.parametrize(
    ("password", "reasons"),
    [
        ("eleven char", ["too_short"]),
        ("z" * 129, ["too_long"]),
        ("password", ["too_short", "common"]),
        ("1qaz2wsx3edc", ["common"]),
        ("1QAZ2WSX3EDC", ["common"]),
        ("password1234", ["common"]),
        ("my notesapp password", ["contains_app_name"]),
        ("NOTESAPP is my favourite", ["contains_app_name"]),
        ("notesapp", ["too_short", "contains_app_name"]),
    ],
)
async def test_every_failing_reason_is_reported(
    policy: PasswordPolicy, password: str, reasons: list[str]
) -> None:
    assert await policy.check(password) == reasons


async def test_length_counts_characters_not_bytes(policy: PasswordPolicy) -> None:
    # 12 characters but 24 UTF-8 bytes: accepted; 11 such characters: too short.
    assert await policy.check("ж" * 12) == []
    assert await policy.check("ж" * 11) == ["too_short"]
    # 128 characters of 4 bytes each: accepted, never truncated nor refused for bytes.
    assert await policy.check("😀" * 128) == []


async def test_length_counts_the_characters_given_as_the_published_schema_does(
    policy: PasswordPolicy,
) -> None:
    # Counted after NFKC, one character (U+FDFA, 18 after it) passed the 12-character
    # minimum the OpenAPI schema publishes, and 128 "½" (384 after it) failed its maximum.
    assert await policy.check("\ufdfa") == ["too_short"]
    assert await policy.check("½" * 128) == []


async def test_the_minimum_holds_for_the_password_as_hashed_too(policy: PasswordPolicy) -> None:
    # 12 code points that NFKC composes into 3 (or 4) characters: what is hashed, and
    # what logs in typed as such, is shorter than the minimum.
    assert await policy.check(unicodedata.normalize("NFD", "ᾆ") * 3) == ["too_short"]
    assert await policy.check("\u1100\u1161\u11a8" * 4) == ["too_short"]
    # Within the maximum as given, but past what the hasher takes once normalized.
    assert await policy.check("\ufdfa" * 128) == ["too_long"]


async def test_a_password_over_the_maximum_is_refused_not_truncated(
    policy: PasswordPolicy,
) -> None:
    assert await policy.check("a long passphrase " * 20) == ["too_long"]


@pytest.mark.parametrize(
    ("password", "email"),
    [
        ("john.smith rules 2024", "john.smith@example.com"),
        ("Xx-JOHN.SMITH-xX 99", "John.Smith@Example.com"),
        ("johnsmith!johnsmith", "johnsmith+shop@example.com"),  # the base before "+"
        ("john.smith+shop", "john.smith+shop@example.com"),
    ],
)
async def test_passwords_containing_the_email_local_part_are_refused(
    policy: PasswordPolicy, password: str, email: str
) -> None:
    assert "contains_email" in await policy.check(password, email=email)


async def test_a_very_short_local_part_is_only_refused_as_the_whole_password() -> None:
    policy = PasswordPolicy(min_length=1)
    assert await policy.check("always a decent passphrase", email="al@example.com") == []
    assert await policy.check("AL", email="al@example.com") == ["contains_email"]


async def test_the_domain_of_the_email_is_not_a_forbidden_word(policy: PasswordPolicy) -> None:
    assert await policy.check("example dot com is great", email="bob@example.com") == []


async def test_the_min_and_max_lengths_are_configurable(fast_settings: BastionSettings) -> None:
    settings = fast_settings.model_copy(
        update={"password_min_length": 16, "password_max_length": 20}
    )
    policy = PasswordPolicy.from_settings(settings)
    assert await policy.check("fifteen chars!!") == ["too_short"]
    assert await policy.check("twenty-one characters") == ["too_long"]
    assert await policy.check("sixteen chars ok") == []


async def test_extra_async_checks_add_their_reasons_after_the_built_in_ones(
    fast_settings: BastionSettings,
) -> None:
    seen: list[str] = []

    async def breached(password: str) -> Iterable[str]:
        seen.append(password)
        return ["breached"] if "leaked" in password else []

    policy = PasswordPolicy.from_settings(fast_settings, checks=[breached])
    assert await policy.check("a leaked but long one") == ["breached"]
    assert await policy.check("short leaked") == ["breached"]
    assert await policy.check("leaked") == ["too_short", "breached"]
    assert await policy.check("fine and long enough") == []
    # The checker sees the NFKC-normalized password.
    await policy.check("\uff46\uff55\uff4c\uff4c width letters")  # full-width "full"
    assert seen[-1] == "full width letters"


async def test_validate_raises_weak_password_with_all_reasons(policy: PasswordPolicy) -> None:
    with pytest.raises(WeakPasswordError) as caught:
        await policy.validate("notesapp", email="notesapp@example.com")
    error = caught.value
    assert error.code == "WEAK_PASSWORD"
    assert error.status_code == 422
    assert error.details == {"reasons": ["too_short", "contains_email", "contains_app_name"]}
    assert error.reasons == ["too_short", "contains_email", "contains_app_name"]


async def test_validate_passes_a_good_password(policy: PasswordPolicy) -> None:
    await policy.validate("correct horse battery staple", email="bob@example.com")


def test_reason_codes_are_the_documented_strings() -> None:
    assert [reason.value for reason in WeakPasswordReason] == [
        "too_short",
        "too_long",
        "common",
        "contains_email",
        "contains_app_name",
    ]


@pytest.mark.parametrize(("low", "high"), [(0, 10), (13, 12)])
def test_an_empty_length_range_is_refused(low: int, high: int) -> None:
    with pytest.raises(ValueError, match="length range"):
        PasswordPolicy(min_length=low, max_length=high)


async def test_the_first_check_loads_the_list_and_later_ones_reuse_it(
    policy: PasswordPolicy,
) -> None:
    load_common_passwords.cache_clear()
    assert await policy.check("1qaz2wsx3edc") == ["common"]
    assert load_common_passwords.cache_info().currsize == 1
    assert await policy.check("1qaz2wsx3edc") == ["common"]
    assert load_common_passwords.cache_info().misses == 1


def test_the_bundled_list_has_at_least_10000_passwords_and_is_loaded_once() -> None:
    first = load_common_passwords()
    assert len(first) >= 10_000
    assert {"123456", "password", "qwerty", "iloveyou"} <= first
    assert load_common_passwords() is first


def test_the_common_password_list_ships_in_the_wheel(tmp_path: Path) -> None:
    subprocess.run(  # noqa: S603 - fixed arguments, our own interpreter
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("bastion-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "bastion/security/data/common-passwords.txt.gz" in names
    assert "bastion/security/data/common-passwords.LICENSE" in names


async def test_blank_context_words_refuse_nothing_and_a_bare_name_counts_as_local_part() -> None:
    policy = PasswordPolicy(app_name="   ")
    assert await policy.check("a fine long passphrase", email=" @example.com") == []
    assert await policy.check("robert the passphrase", email="robert") == ["contains_email"]
