"""Framework-free security primitives: passwords, policy, JWTs, TOTP, recovery codes, CSRF.

Nothing here imports a web framework or the database layer; the auth feature
composes these pieces. Every key is derived from `BastionSettings.secret_key`
(or the JWT key settings) with a purpose label, and every `*.from_settings`
builder reads its parameters from the settings.
"""

from bastion.security.claims import check_claims
from bastion.security.clock import Clock, system_clock
from bastion.security.crypto import (
    MIN_TOKEN_BYTES,
    SecretBox,
    constant_time_equals,
    derive_key,
    generate_token,
    hash_token,
)
from bastion.security.csrf import CsrfTokens
from bastion.security.errors import (
    CsrfFailedError,
    DecryptionError,
    InvalidTokenError,
    WeakPasswordError,
)
from bastion.security.passwords import PasswordHasher, normalize_password
from bastion.security.policy import (
    PasswordCheck,
    PasswordPolicy,
    WeakPasswordReason,
    load_common_passwords,
)
from bastion.security.recovery import (
    RECOVERY_CODE_COUNT,
    RecoveryCodes,
    RecoveryCodeSet,
    normalize_code,
)
from bastion.security.tokens import (
    ACCESS_TOKEN_TYPE,
    MFA_TOKEN_TYPE,
    REGISTERED_CLAIMS,
    TokenClaims,
    TokenService,
)
from bastion.security.totp import TOTP_SECRET_LENGTH, TotpService

__all__ = [
    "ACCESS_TOKEN_TYPE",
    "MFA_TOKEN_TYPE",
    "MIN_TOKEN_BYTES",
    "RECOVERY_CODE_COUNT",
    "REGISTERED_CLAIMS",
    "TOTP_SECRET_LENGTH",
    "Clock",
    "CsrfFailedError",
    "CsrfTokens",
    "DecryptionError",
    "InvalidTokenError",
    "PasswordCheck",
    "PasswordHasher",
    "PasswordPolicy",
    "RecoveryCodeSet",
    "RecoveryCodes",
    "SecretBox",
    "TokenClaims",
    "TokenService",
    "TotpService",
    "WeakPasswordError",
    "WeakPasswordReason",
    "check_claims",
    "constant_time_equals",
    "derive_key",
    "generate_token",
    "hash_token",
    "load_common_passwords",
    "normalize_code",
    "normalize_password",
    "system_clock",
]
