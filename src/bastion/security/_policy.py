"""The password policy of NIST SP 800-63B: length, a blocklist, context words, extra checks."""

from __future__ import annotations

import gzip
from collections.abc import Awaitable, Callable, Iterable, Sequence
from enum import StrEnum
from functools import cache
from importlib import resources

import anyio.to_thread

from bastion.core import BastionSettings
from bastion.security._errors import WeakPasswordError
from bastion.security._passwords import MAX_PASSWORD_BYTES, normalize_password

__all__ = [
    "PasswordCheck",
    "PasswordPolicy",
    "WeakPasswordReason",
    "load_common_passwords",
]

#: An extra async check (for example a breached-password service): it receives the
#: normalized password and returns the reason codes it fails, empty when it passes.
PasswordCheck = Callable[[str], Awaitable[Iterable[str]]]

#: Context words shorter than this are only refused as the whole password: refusing
#: every password that contains, say, "al" would refuse nearly everything.
_MIN_CONTAINED_WORD = 3


class WeakPasswordReason(StrEnum):
    """The reason codes the built-in rules report."""

    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    COMMON = "common"
    CONTAINS_EMAIL = "contains_email"
    CONTAINS_APP_NAME = "contains_app_name"


@cache
def load_common_passwords() -> frozenset[str]:
    """Load the bundled list of common passwords once (lower-case, 30,000 entries).

    Returns:
        The passwords, lower-cased.
    """
    data = resources.files("bastion.security").joinpath("data", "common-passwords.txt.gz")
    text = gzip.decompress(data.read_bytes()).decode()
    return frozenset(line.strip().casefold() for line in text.splitlines() if line.strip())


class PasswordPolicy:
    """Decides whether a new password is acceptable, with every reason it is not.

    Following NIST SP 800-63B: a length range (12..128 by default) counted in
    the characters given (code points, as the OpenAPI schema counts them), the
    minimum holding after NFKC normalization too, any Unicode including spaces,
    no composition rules, no truncation; refused when, NFKC-normalized, it is a
    common password, or equals or contains the e-mail's local part or the app
    name (ignoring case).
    """

    def __init__(
        self,
        *,
        min_length: int = 12,
        max_length: int = 128,
        app_name: str | None = None,
        checks: Sequence[PasswordCheck] = (),
    ) -> None:
        """Create the policy.

        Args:
            min_length: Fewest characters accepted.
            max_length: Most characters accepted.
            app_name: The service's name, refused inside passwords.
            checks: Extra async checks run after the built-in rules.

        Raises:
            ValueError: If the length range is empty or starts below 1.
        """
        if not 1 <= min_length <= max_length:
            raise ValueError("password length range must satisfy 1 <= min <= max")
        self.min_length = min_length
        self.max_length = max_length
        self.app_name = app_name
        self.checks: tuple[PasswordCheck, ...] = tuple(checks)

    @classmethod
    def from_settings(
        cls, settings: BastionSettings, *, checks: Sequence[PasswordCheck] = ()
    ) -> PasswordPolicy:
        """Build the policy from settings (length range and app name).

        Args:
            settings: The app settings.
            checks: Extra async checks.

        Returns:
            The policy.
        """
        return cls(
            min_length=settings.password_min_length,
            max_length=settings.password_max_length,
            app_name=settings.app_name,
            checks=checks,
        )

    async def check(self, password: str, *, email: str | None = None) -> list[str]:
        """Return every reason the password is refused, empty when it is accepted.

        Args:
            password: The candidate password.
            email: The account's e-mail, whose local part the password must avoid.

        Returns:
            Reason codes in a stable order: built-in ones first, then each extra
            check's, without duplicates.
        """
        normalized = normalize_password(password)
        reasons: list[str] = []
        # The range counts the characters given, as the published schema's `minLength` and
        # `maxLength` do (NFKC makes one U+FDFA 18), and the minimum holds for what is
        # hashed too (NFKC composes 12 combining code points into as few as 3).
        if min(len(password), len(normalized)) < self.min_length:
            reasons.append(WeakPasswordReason.TOO_SHORT)
        # Whatever the configured maximum, never more than the hasher takes, either way.
        longest = max(len(text.encode("utf-8", "surrogatepass")) for text in (password, normalized))
        if len(password) > self.max_length or longest > MAX_PASSWORD_BYTES:
            reasons.append(WeakPasswordReason.TOO_LONG)
        folded = normalized.casefold()
        if load_common_passwords.cache_info().currsize:
            common = load_common_passwords()
        else:  # the first check reads and unpacks the list off the event loop
            common = await anyio.to_thread.run_sync(load_common_passwords)
        if folded in common:
            reasons.append(WeakPasswordReason.COMMON)
        if any(_refuses(folded, word) for word in _email_words(email)):
            reasons.append(WeakPasswordReason.CONTAINS_EMAIL)
        if self.app_name and _refuses(folded, self.app_name):
            reasons.append(WeakPasswordReason.CONTAINS_APP_NAME)
        for extra in self.checks:
            reasons.extend(str(reason) for reason in await extra(normalized))
        return [str(reason) for reason in dict.fromkeys(reasons)]

    async def validate(self, password: str, *, email: str | None = None) -> None:
        """Raise unless the password is acceptable.

        Args:
            password: The candidate password.
            email: The account's e-mail.

        Raises:
            WeakPasswordError: With every failing reason in `details["reasons"]`.
        """
        reasons = await self.check(password, email=email)
        if reasons:
            raise WeakPasswordError(reasons)


def _email_words(email: str | None) -> list[str]:
    if not email:
        return []
    local = email.rpartition("@")[0] if "@" in email else email
    words = [local, local.partition("+")[0]]
    return [word for word in dict.fromkeys(words) if word]


def _refuses(folded_password: str, word: str) -> bool:
    folded_word = normalize_password(word).casefold().strip()
    if not folded_word:
        return False
    if folded_password == folded_word:
        return True
    return len(folded_word) >= _MIN_CONTAINED_WORD and folded_word in folded_password
