"""Time-based one-time passwords (RFC 6238) with a ±1 step window and a replay guard."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from bastion.core import BastionSettings
from bastion.security._clock import Clock, system_clock

if TYPE_CHECKING:
    import pyotp

__all__ = ["TOTP_SECRET_LENGTH", "TotpService"]

#: Base32 characters in a generated secret (32 = 160 bits, RFC 4226's recommendation).
TOTP_SECRET_LENGTH = 32


class TotpService:
    """Generates TOTP secrets and verifies codes, each time step at most once per user.

    `verify` accepts the code of the current step or of the one just before or
    after it (clock drift), and returns the matched step. The caller stores that
    step per user (in the database, updated atomically with a condition on the
    old value) and passes it as `last_step` next time: a step at or before it is
    refused, so an intercepted code cannot be replayed, even within its window.
    """

    def __init__(
        self,
        *,
        issuer: str,
        digits: int = 6,
        interval: int = 30,
        window: int = 1,
        clock: Clock = system_clock,
    ) -> None:
        """Create the service.

        Args:
            issuer: Shown by authenticator apps next to the account.
            digits: Code length.
            interval: Seconds per time step.
            window: Steps accepted either side of the current one.
            clock: Source of the current time.
        """
        self.issuer = issuer
        self.digits = digits
        self.interval = interval
        self.window = window
        self._clock = clock

    @classmethod
    def from_settings(
        cls, settings: BastionSettings, *, clock: Clock = system_clock
    ) -> TotpService:
        """Build the service with the app name as issuer.

        Args:
            settings: The app settings.
            clock: Source of the current time.

        Returns:
            The service.
        """
        return cls(issuer=settings.app_name, clock=clock)

    def generate_secret(self) -> str:
        """Generate a new random base32 secret (160 bits).

        Returns:
            The secret; store it encrypted (`SecretBox`), show it once.
        """
        import pyotp

        return pyotp.random_base32(TOTP_SECRET_LENGTH)

    def _totp(self, secret: str) -> pyotp.TOTP:
        # pyotp loads with the first code made or checked, not with `import bastion`.
        import pyotp

        return pyotp.TOTP(secret, digits=self.digits, interval=self.interval)

    def provisioning_uri(self, secret: str, account_name: str) -> str:
        """Build the `otpauth://totp/...` URI an authenticator app scans as a QR code.

        Args:
            secret: The user's base32 secret.
            account_name: The account label, usually the e-mail.

        Returns:
            The URI.
        """
        return self._totp(secret).provisioning_uri(name=account_name, issuer_name=self.issuer)

    def current_step(self) -> int:
        """The time step of the clock's current time.

        Returns:
            `floor(now / interval)`.
        """
        return int(self._clock()) // self.interval

    def code_at(self, secret: str, step: int) -> str:
        """The code for a given time step (what an authenticator app shows then).

        Args:
            secret: The user's base32 secret.
            step: The time step.

        Returns:
            The code.
        """
        return self._totp(secret).generate_otp(step)

    def verify(self, secret: str, code: str, *, last_step: int | None = None) -> int | None:
        """Check a code and return the time step it matched.

        Args:
            secret: The user's base32 secret.
            code: The code presented (spaces are ignored).
            last_step: The step last accepted for this user, `None` if none yet.

        Returns:
            The matched step, to be stored as the user's new `last_step`, or
            `None` when the code is wrong, malformed, outside the window or
            for a step already used.
        """
        candidate = code.replace(" ", "")
        if len(candidate) != self.digits or not candidate.isascii() or not candidate.isdigit():
            return None
        totp = self._totp(secret)
        current = self.current_step()
        matched: int | None = None
        for step in range(current - self.window, current + self.window + 1):
            if last_step is not None and step <= last_step:
                continue
            if hmac.compare_digest(totp.generate_otp(step), candidate) and matched is None:
                matched = step
        return matched
