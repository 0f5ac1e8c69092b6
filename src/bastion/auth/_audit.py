"""Audit events of the auth feature: one structured line each on the `bastion.audit` logger."""

from __future__ import annotations

import logging
import uuid
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING, Literal

from bastion.auth._hooks import RequestMeta

if TYPE_CHECKING:
    from bastion.db import UnitOfWork

__all__ = ["AUDIT_LOGGER", "AuditEvent", "AuditOutcome", "AuditTrail", "AuditValue", "audit"]

#: The logger every audit event is written to.
AUDIT_LOGGER = "bastion.audit"

#: How the audited action ended.
AuditOutcome = Literal["success", "failure", "throttled"]

_log = logging.getLogger(AUDIT_LOGGER)
_LEVELS: dict[str, int] = {"success": logging.INFO}

#: The values an event's own fields may take: ids, names, flags; never a secret.
AuditValue = str | bool | None


class AuditEvent(StrEnum):
    """The security events the auth feature records (the `event` field of each line)."""

    #: An account was created (by registration or an admin command).
    REGISTERED = "user.registered"
    #: A login completed and issued a session (after the second factor, when MFA is on).
    LOGIN_SUCCEEDED = "login.succeeded"
    #: A login was refused: unknown account, wrong password or inactive account.
    LOGIN_FAILED = "login.failed"
    #: A login (password or second factor) was refused by a throttle before any check.
    LOGIN_THROTTLED = "login.throttled"
    #: A login's second factor was accepted.
    MFA_CHALLENGE_PASSED = "mfa.challenge_passed"
    #: A login's second factor was refused: a wrong code, or a challenge used up or expired.
    MFA_CHALLENGE_FAILED = "mfa.challenge_failed"
    #: A spent refresh token came back: its whole session (family) is revoked.
    REFRESH_REUSE_DETECTED = "refresh.reuse_detected"
    #: A session was logged out.
    LOGOUT = "session.logout"
    #: A password was changed (the user's other sessions are revoked).
    PASSWORD_CHANGED = "password.changed"  # noqa: S105 - an event name
    #: MFA was turned on.
    MFA_ENABLED = "mfa.enabled"
    #: MFA was turned off.
    MFA_DISABLED = "mfa.disabled"
    #: A single-use recovery code was spent.
    RECOVERY_CODE_USED = "mfa.recovery_code_used"
    #: A role was added to a user.
    ROLE_GRANTED = "role.granted"
    #: A user was deactivated (every session revoked).
    USER_DEACTIVATED = "user.deactivated"
    #: A deactivated user was activated again.
    USER_ACTIVATED = "user.activated"


def audit(
    event: AuditEvent,
    outcome: AuditOutcome,
    *,
    user_id: uuid.UUID | None,
    client_ip: str | None,
    **fields: AuditValue,
) -> None:
    """Write one audit line: INFO for a success, WARNING for a failure or a throttle.

    The record carries `event`, `outcome`, `user_id`, `client_ip` and `fields`
    as attributes (the JSON formatter writes each as a key), and the request id
    as every record does. The message repeats them for text logs. Callers pass
    ids and keyed hashes only: never a password, token, code or e-mail address.

    Args:
        event: What happened.
        outcome: `success`, `failure` or `throttled`.
        user_id: The user concerned, when known.
        client_ip: The client address (behind trusted proxies only), when known.
        **fields: The event's own details (`session_id`, `role`, `reason`, ...).
    """
    level = _LEVELS.get(outcome, logging.WARNING)
    if not _log.isEnabledFor(level):
        return
    user = None if user_id is None else str(user_id)
    extra: dict[str, object] = {
        "event": event.value,
        "outcome": outcome,
        "user_id": user,
        "client_ip": client_ip,
        **fields,
    }
    text = " ".join(f"{key}={'-' if value is None else value}" for key, value in extra.items())
    _log.log(level, "audit %s", text, extra=extra)


#: The client of events recorded outside a request.
_NOBODY = RequestMeta()


class AuditTrail:
    """The audit events of one unit of work: failures now, successes once committed."""

    def __init__(self, uow: UnitOfWork, meta: RequestMeta | None = None) -> None:
        """Record for `uow`; events not given a client name `meta`'s.

        Args:
            uow: The unit of work whose commit a success waits for.
            meta: Who is asking (the request's client), for events not given one.
        """
        self.uow = uow
        self.meta = meta or _NOBODY

    def now(
        self,
        event: AuditEvent,
        outcome: AuditOutcome,
        *,
        user_id: uuid.UUID | None,
        meta: RequestMeta | None = None,
        **fields: AuditValue,
    ) -> None:
        """Record `event` now: for failures and state that persists on purpose."""
        client_ip = (meta or self.meta).ip
        audit(event, outcome, user_id=user_id, client_ip=client_ip, **fields)

    def on_commit(
        self,
        event: AuditEvent,
        *,
        user_id: uuid.UUID,
        meta: RequestMeta | None = None,
        **fields: AuditValue,
    ) -> None:
        """Record the success `event` once the unit of work commits (never if it rolls back)."""
        self.uow.after_commit(
            partial(self.now, event, "success", user_id=user_id, meta=meta, **fields)
        )
