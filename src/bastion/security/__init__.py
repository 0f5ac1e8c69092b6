"""Framework-free security primitives: passwords, policy, JWTs, TOTP, recovery codes, CSRF.

Nothing here imports a web framework or the database layer; the auth feature
composes these pieces. Every key is derived from `BastionSettings.secret_key`
(or the JWT key settings) with a purpose label, and every `*.from_settings`
builder reads its parameters from the settings.

The implementation modules are private; import from `bastion.security`. The
libraries behind them (argon2, cryptography, PyJWT, pyotp) load when a
primitive first needs them, not when this package is imported.
"""

from bastion.security._claims import check_claims
from bastion.security._clock import Clock, system_clock
from bastion.security._cpus import available_cpus
from bastion.security._crypto import (
    MIN_TOKEN_BYTES,
    SecretBox,
    constant_time_equals,
    derive_key,
    generate_token,
    hash_token,
)
from bastion.security._csrf import CsrfTokens
from bastion.security._errors import (
    CsrfFailedError,
    DecryptionError,
    InvalidTokenError,
    WeakPasswordError,
)
from bastion.security._passwords import (
    MAX_PASSWORD_BYTES,
    QUEUE_SECONDS,
    PasswordHasher,
    normalize_password,
)
from bastion.security._policy import (
    PasswordCheck,
    PasswordPolicy,
    WeakPasswordReason,
    load_common_passwords,
)
from bastion.security._recovery import (
    RECOVERY_CODE_COUNT,
    RecoveryCodes,
    RecoveryCodeSet,
    normalize_code,
)
from bastion.security._tokens import (
    ACCESS_TOKEN_TYPE,
    MFA_TOKEN_TYPE,
    REGISTERED_CLAIMS,
    TokenClaims,
    TokenService,
)
from bastion.security._totp import TOTP_SECRET_LENGTH, TotpService

__all__ = [
    "ACCESS_TOKEN_TYPE",
    "MAX_PASSWORD_BYTES",
    "MFA_TOKEN_TYPE",
    "MIN_TOKEN_BYTES",
    "QUEUE_SECONDS",
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
    "available_cpus",
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
