"""`MfaService`: TOTP setup, enable and disable, and the login's second factor."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from bastion.auth._audit import AuditEvent, AuditTrail
from bastion.auth._errors import InvalidMfaCodeError, MfaStateError
from bastion.auth._hooks import RequestMeta
from bastion.auth._mfa_repository import MfaRepository
from bastion.auth._principal import IssuedTokens, MfaPending, Principal
from bastion.auth._records import UserRecord
from bastion.auth._repositories import AuthRepository
from bastion.auth._schemas import MfaSetup, RecoveryCodesOut
from bastion.auth._sessions import SessionService, user_out
from bastion.auth._throttle import AuthThrottle, Budget
from bastion.errors import RateLimitedError
from bastion.security import MFA_TOKEN_TYPE, DecryptionError, InvalidTokenError, TokenClaims

if TYPE_CHECKING:
    from bastion.auth._runtime import AuthRuntime
    from bastion.db import UnitOfWork

__all__ = ["MFA_CHALLENGE_ATTEMPTS", "MfaService"]

#: Codes one MFA challenge (one login's `mfa_token`) may be tried with: after this many
#: wrong ones it is dead, and only a new login (the password again) gives another.
MFA_CHALLENGE_ATTEMPTS = 5
# The MFA token's claim marking the password hash its login checked.
_MARK_CLAIM = "pwd"


class MfaService:
    """The second factor: TOTP with a replay guard, and single-use recovery codes.

    Built per unit of work (`AuthRuntime.mfa`). An accepted one-time code is
    committed at once (security state that must outlive any later error);
    wrong codes count in the throttle's MFA budgets. No FastAPI here.

    Args:
        uow: The unit of work the service writes in.
        repo: The users and sessions SQL.
        runtime: The primitives (TOTP, secret box, recovery codes, tokens) and hooks.
        throttle: The budgets wrong codes count in.
        audit: Where the service's audit events go.
        sessions: Issues the session once a login's second factor passed.
    """

    def __init__(
        self,
        uow: UnitOfWork,
        *,
        repo: AuthRepository,
        runtime: AuthRuntime,
        throttle: AuthThrottle,
        audit: AuditTrail,
        sessions: SessionService,
    ) -> None:
        """Bind the service to its unit of work and collaborators."""
        self.uow = uow
        self.repo = repo
        self.codes = MfaRepository(uow, runtime.models)
        self.runtime = runtime
        self.throttle = throttle
        self.audit = audit
        self.sessions = sessions

    async def challenge(self, user: UserRecord) -> MfaPending:
        """Open a login's second-factor challenge: the password was right and MFA is on.

        The MFA token carries a mark of the password hash the login checked, so
        a password change meanwhile closes the challenge (`verify_mfa`).
        """
        tokens = self.runtime.tokens
        expires = self.runtime.now() + timedelta(seconds=tokens.mfa_ttl)
        challenge = await self.codes.add_challenge(user.id, expires)
        token = tokens.encode(
            str(user.id),
            token_type=MFA_TOKEN_TYPE,
            ttl=tokens.mfa_ttl,
            session_id=str(challenge),
            claims={_MARK_CLAIM: self._password_mark(user)},
        )
        return MfaPending(mfa_token=token)

    def _password_mark(self, user: UserRecord) -> str:
        """A keyed digest of the user's password hash (it names no secret)."""
        message = b"mfa-password:" + user.password_hash.encode()
        return hmac.new(self.runtime.throttle_key, message, hashlib.sha256).hexdigest()[:32]

    def _secret(self, user: UserRecord) -> str | None:
        if user.totp_secret_encrypted is None:
            return None
        try:
            return self.runtime.secret_box.decrypt_text(
                user.totp_secret_encrypted, associated_data=user.id.bytes
            )
        except DecryptionError:
            return None  # a secret sealed under another key or row never verifies

    async def _second_factor(
        self,
        user: UserRecord,
        code: str,
        budgets: Sequence[Budget],
        meta: RequestMeta | None = None,
    ) -> bool:
        """Accept a TOTP code (each time step once) or an unused recovery code, atomically.

        An accepted code forgives `budgets` (429, the code unspent, when attempts
        in flight spent them meanwhile), then is spent for good, whatever
        follows (see `_keep_spent`).
        """
        compact = code.replace(" ", "")
        if compact.isascii() and compact.isdigit():
            sealed, secret = user.totp_secret_encrypted, self._secret(user)
            if sealed is None or secret is None:
                return False
            step = self.runtime.totp.verify(secret, compact, last_step=user.totp_last_step)
            accepted = step is not None and await self.codes.claim_totp_step(user.id, step, sealed)
        else:
            code_hash = self.runtime.recovery.hash(code)
            accepted = await self.codes.use_recovery_code(user.id, code_hash, self.runtime.now())
            if accepted:
                self.audit.on_commit(AuditEvent.RECOVERY_CODE_USED, user_id=user.id, meta=meta)
        if accepted:
            await self.throttle.forgive(budgets)
            await self._keep_spent()
        return accepted

    async def _keep_spent(self) -> None:
        """Commit the one-time code (a TOTP step, a recovery code) this request just spent.

        Security state that must outlive any error after it: an error response
        rolls the request back, and a code that was accepted, then un-spent by a
        failing hook or a lost race, could be replayed by whoever saw it. Only
        reads, and at login the challenge's spent try (security state too),
        precede it in the transaction, so nothing else commits with it.
        """
        await self.uow.commit()

    async def verify_mfa(self, mfa_token: str, code: str, meta: RequestMeta) -> IssuedTokens:
        """Finish a login with the second factor; the MFA token is spent on success.

        Each try spends one of the challenge's `MFA_CHALLENGE_ATTEMPTS`: after
        that many wrong codes it is dead (`INVALID_TOKEN`), whatever IPs tried.
        Wrong codes also count per (client IP, user) and per user, as in `login`.

        Raises:
            InvalidTokenError: The MFA token is unknown, expired, used, out of tries or not one.
            RateLimitedError: Too many wrong codes for this IP and user, or for this user.
            ServiceUnavailableError: The limiter's storage is down (the throttle fails closed).
            InvalidMfaCodeError: The code is wrong or already used.
        """
        claims = self.runtime.tokens.decode(mfa_token, token_type=MFA_TOKEN_TYPE)
        try:
            user_id, challenge = uuid.UUID(claims.subject), uuid.UUID(str(claims.session_id))
        except ValueError as exc:
            raise InvalidTokenError("claims") from exc
        try:
            return await self._verify_mfa(claims, user_id, challenge, code, meta)
        except RateLimitedError:
            self.audit.now(
                AuditEvent.LOGIN_THROTTLED, "throttled", user_id=user_id, meta=meta, factor="mfa"
            )
            raise

    async def _verify_mfa(
        self,
        claims: TokenClaims,
        user_id: uuid.UUID,
        challenge: uuid.UUID,
        code: str,
        meta: RequestMeta,
    ) -> IssuedTokens:
        budgets = self.throttle.mfa(user_id, meta.ip or "-")
        await self.throttle.check(budgets)
        now = self.runtime.now()
        if not await self.codes.try_challenge(challenge, user_id, now, MFA_CHALLENGE_ATTEMPTS):
            self._mfa_failed(user_id, meta, "challenge_closed")
            raise InvalidTokenError("challenge")
        user = await self.repo.user_by_id(user_id)
        if user is None or not user.is_active or not user.mfa_enabled:
            raise InvalidTokenError("inactive")
        mark = claims.extra.get(_MARK_CLAIM)
        if not isinstance(mark, str) or not hmac.compare_digest(mark, self._password_mark(user)):
            raise InvalidTokenError("password")  # changed since the login checked it
        if not await self._second_factor(user, code, budgets, meta):
            # Security state that must outlive this error response: the try the
            # challenge just spent. Committed on purpose; the error rolls back the rest.
            await self.uow.commit()
            self._mfa_failed(user_id, meta, "wrong_code")
            await self.throttle.fail(budgets)
            raise InvalidMfaCodeError()
        if not await self.codes.use_challenge(challenge, user_id, now):
            raise InvalidTokenError("challenge")
        issued = await self.sessions.issue(user, meta)
        await self.runtime.hooks.after_login(user_out(user), meta)
        self.audit.on_commit(AuditEvent.MFA_CHALLENGE_PASSED, user_id=user.id, meta=meta)
        self.audit.on_commit(
            AuditEvent.LOGIN_SUCCEEDED,
            user_id=user.id,
            meta=meta,
            session_id=str(issued.session_id),
            mfa=True,
        )
        return issued

    def _mfa_failed(self, user_id: uuid.UUID, meta: RequestMeta, reason: str) -> None:
        self.audit.now(
            AuditEvent.MFA_CHALLENGE_FAILED, "failure", user_id=user_id, meta=meta, reason=reason
        )

    async def _beaten(self, user_id: uuid.UUID, *, enabling: bool) -> Exception:
        """The error for an enable or disable another request's MFA change beat.

        MFA already in the state asked for is that state's 409; otherwise the
        code confirmed a secret that is no longer the stored one (401).
        """
        user = await self.repo.user_by_id(user_id)
        if user is not None and user.mfa_enabled == enabling:
            if enabling:
                return MfaStateError("MFA is already enabled.", code="MFA_ALREADY_ENABLED")
            return MfaStateError("MFA is not enabled.", code="MFA_NOT_ENABLED")
        return InvalidMfaCodeError()

    async def setup_mfa(self, principal: Principal) -> MfaSetup:
        """Start MFA setup: a new secret, stored encrypted, not active until confirmed.

        Raises:
            MfaStateError: MFA is already on (`MFA_ALREADY_ENABLED`).
        """
        self.codes.mfa_models()  # 409 MFA_NOT_AVAILABLE on a host without MFA
        user = await self.repo.active_user(principal.id)
        if user.mfa_enabled:
            raise MfaStateError("MFA is already enabled.", code="MFA_ALREADY_ENABLED")
        secret = self.runtime.totp.generate_secret()
        sealed = self.runtime.secret_box.encrypt(secret, associated_data=user.id.bytes)
        if not await self.codes.change_mfa(
            user.id,
            self.runtime.now(),
            was_enabled=False,
            totp_secret_encrypted=sealed,
            totp_last_step=None,
        ):  # an enable finished meanwhile: its secret stays
            raise MfaStateError("MFA is already enabled.", code="MFA_ALREADY_ENABLED")
        uri = self.runtime.totp.provisioning_uri(secret, user.email)
        return MfaSetup(secret=secret, otpauth_uri=uri)

    async def enable_mfa(self, principal: Principal, code: str) -> RecoveryCodesOut:
        """Confirm setup with a TOTP code; MFA turns on and recovery codes are issued.

        The user's other sessions are revoked.

        Raises:
            MfaStateError: Already on (`MFA_ALREADY_ENABLED`) or not set up (`MFA_NOT_SET_UP`).
            InvalidMfaCodeError: The code is wrong.
            RateLimitedError: Too many wrong codes for this user.
        """
        self.codes.mfa_models()  # 409 MFA_NOT_AVAILABLE on a host without MFA
        user = await self.repo.active_user(principal.id)
        if user.mfa_enabled:
            raise MfaStateError("MFA is already enabled.", code="MFA_ALREADY_ENABLED")
        sealed, secret = user.totp_secret_encrypted, self._secret(user)
        if sealed is None or secret is None:
            raise MfaStateError("Call /mfa/setup first.", code="MFA_NOT_SET_UP")
        budgets = self.throttle.mfa(user.id)
        await self.throttle.check(budgets)
        step = self.runtime.totp.verify(secret, code, last_step=user.totp_last_step)
        if step is None or not await self.codes.claim_totp_step(user.id, step, sealed):
            await self.throttle.fail(budgets)
            raise InvalidMfaCodeError()
        await self.throttle.forgive(budgets)
        await self._keep_spent()
        now = self.runtime.now()
        # Only the secret this code confirmed turns on: a setup since then replaced it.
        if not await self.codes.change_mfa(
            user.id, now, was_enabled=False, had_secret=sealed, mfa_enabled=True
        ):
            raise await self._beaten(user.id, enabling=True)
        codes = self.runtime.recovery.generate()
        await self.codes.replace_recovery_codes(user.id, codes.hashes)
        await self.repo.revoke_families(now, user_id=user.id, keep_family=principal.session_id)
        await self.runtime.hooks.after_mfa_change(user_out(user), enabled=True)
        self.audit.on_commit(AuditEvent.MFA_ENABLED, user_id=user.id)
        return RecoveryCodesOut(recovery_codes=codes.codes)

    async def disable_mfa(self, principal: Principal, code: str) -> None:
        """Turn MFA off with a TOTP or recovery code; the user's other sessions are revoked.

        Raises:
            MfaStateError: MFA is not on (`MFA_NOT_ENABLED`).
            InvalidMfaCodeError: The code is wrong (MFA stays on).
            RateLimitedError: Too many wrong codes for this user.
        """
        self.codes.mfa_models()  # 409 MFA_NOT_AVAILABLE on a host without MFA
        user = await self.repo.active_user(principal.id)
        if not user.mfa_enabled:
            raise MfaStateError("MFA is not enabled.", code="MFA_NOT_ENABLED")
        budgets = self.throttle.mfa(user.id)
        await self.throttle.check(budgets)
        if not await self._second_factor(user, code, budgets):
            await self.throttle.fail(budgets)
            raise InvalidMfaCodeError()
        now = self.runtime.now()
        if not await self.codes.change_mfa(
            user.id,
            now,
            was_enabled=True,
            had_secret=user.totp_secret_encrypted,
            mfa_enabled=False,
            totp_secret_encrypted=None,
            totp_last_step=None,
        ):  # another request turned it off (and perhaps on again) meanwhile
            raise await self._beaten(user.id, enabling=False)
        await self.codes.replace_recovery_codes(user.id, [])
        await self.repo.revoke_families(now, user_id=user.id, keep_family=principal.session_id)
        await self.runtime.hooks.after_mfa_change(user_out(user), enabled=False)
        self.audit.on_commit(AuditEvent.MFA_DISABLED, user_id=user.id)
