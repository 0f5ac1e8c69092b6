"""Request and response models of the auth routes (input models forbid unknown fields)."""

from __future__ import annotations

import contextlib
import re
import unicodedata
import uuid
from datetime import datetime
from typing import Annotated, Literal

import idna
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from bastion.auth._models import EMAIL_MAX_LENGTH
from bastion.security import MAX_PASSWORD_BYTES

__all__ = [
    "CookieSession",
    "MfaCode",
    "MfaRequired",
    "MfaSetup",
    "MfaVerify",
    "NormalizedEmail",
    "PasswordChange",
    "RecoveryCodesOut",
    "RefreshRequest",
    "TokenPair",
    "UserCreate",
    "UserOut",
    "normalize_email",
    "password_within_bytes",
]

# One "@", no spaces or control characters, a dot in the domain: the rest is the
# mail server's business. Explicit classes, not `\s`, so that Python here and the
# Rust regex checking the schema pattern agree on every character.
_TRIMMED = " \t\n\r"
_CHAR = r"[^@\x00-\x20\x7f-\x9f]"
_EMAIL = re.compile(rf"^{_CHAR}+@{_CHAR}+\.{_CHAR}+$")
# The schema's pattern: the ASCII addresses `_email` accepts, exactly (at most 254
# characters, as `maxLength` says): a printable local part, and a domain of DNS labels
# (letters, digits and inner hyphens, never in both 3rd and 4th place, 1-63 long), around
# trimmed white space. No pattern can tell which Unicode addresses, or which A-labels
# (`xn--...`), IDNA takes: those are accepted beyond it, as the schema's description says.
_A = "[A-Za-z0-9]"
_H = "[-A-Za-z0-9]"
_LABEL = rf"{_A}(?:{_A}|{_H}(?:{_A}(?:{_H}{{0,59}}{_A})?|-{_A}(?:{_H}{{0,58}}{_A})?))?"
_EMAIL_SCHEMA_PATTERN = rf"^[ \t\n\r]*[!-?A-~]+@{_LABEL}(?:\.{_LABEL})+[ \t\n\r]*$"
# Control, format (zero-width and direction marks), surrogate, private-use and
# unassigned code points, and every kind of space: invisible or unstable in an
# address, and the stuff of look-alikes.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})


def _ascii_domain(domain: str) -> str:
    """The domain as DNS knows it: IDNA 2008, after the UTS #46 mapping.

    An ASCII domain is checked by the same rules: letters, digits and inner
    hyphens, labels of at most 63 characters, and `xn--` labels that decode.

    Raises:
        UnicodeError: The domain is not a valid (internationalized) domain name.
    """
    return idna.encode(domain, uts46=True).decode("ascii")


def normalize_email(value: str) -> str:
    """Normalize an e-mail address, as stored and as looked up.

    NFKC (fullwidth and other compatibility forms become their plain letters),
    trimmed, lower-cased, and a non-ASCII domain IDNA-encoded (`bücher.de` ->
    `xn--bcher-kva.de`), so that every spelling of one address is one account.
    Never raises: text the address rules refuse still normalizes (and matches
    no account), so a login can look up whatever it was given.

    Args:
        value: The address as typed.

    Returns:
        The normalized address.
    """
    text = unicodedata.normalize("NFKC", value).strip(_TRIMMED).lower()
    local, at, domain = text.rpartition("@")
    if not at:
        return text
    with contextlib.suppress(UnicodeError):
        domain = _ascii_domain(domain)
    return f"{local}@{domain}"


def _email(value: str) -> str:
    text = unicodedata.normalize("NFKC", value).strip(_TRIMMED)
    if any(unicodedata.category(char) in _REFUSED_CATEGORIES for char in text):
        raise ValueError("must not contain control, format or space characters")
    if not _EMAIL.match(text):
        raise ValueError("not a valid e-mail address")
    domain = text.rpartition("@")[2]
    if "" in domain.split("."):
        raise ValueError("the domain must not start or end with a dot, nor hold two in a row")
    try:
        _ascii_domain(domain.lower())
    except UnicodeError as exc:
        raise ValueError("the domain is not a valid internationalized domain name") from exc
    normalized = normalize_email(value)
    if len(normalized.encode()) > EMAIL_MAX_LENGTH:
        raise ValueError(f"at most {EMAIL_MAX_LENGTH} bytes once normalized")
    return normalized


#: An e-mail address, normalized on input (`normalize_email`): NFKC, trimmed,
#: lower-cased, the domain IDNA-encoded; at most 254 bytes once normalized.
NormalizedEmail = Annotated[
    str,
    Field(
        min_length=3,
        max_length=EMAIL_MAX_LENGTH,
        description=(
            "An e-mail address, trimmed and lower-cased. The pattern is that of ASCII "
            "addresses; an internationalized one (Unicode letters, or an IDNA-encoded "
            "`xn--` domain) is accepted too, NFKC-normalized, its domain stored IDNA-encoded."
        ),
        # Published, not checked: `_email` checks every address, the Unicode ones too.
        json_schema_extra={"pattern": _EMAIL_SCHEMA_PATTERN},
    ),
    AfterValidator(_email),
]


def _unicode_text(value: str) -> str:
    """`value`, unless it holds a lone surrogate, which no hasher can take (a 422)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    return value


def password_within_bytes(value: str) -> str:
    """Refuse a password over `MAX_PASSWORD_BYTES` UTF-8 bytes (a 422, before any hashing).

    A lone surrogate is refused too (the edge layers refuse one in a JSON body first).
    """
    if len(_unicode_text(value).encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise ValueError(f"at most {MAX_PASSWORD_BYTES} bytes")
    return value


_Password = Annotated[
    str, Field(min_length=1, max_length=MAX_PASSWORD_BYTES), AfterValidator(password_within_bytes)
]
# A new password's length is judged by the policy alone, so that any length it refuses
# is a 422 WEAK_PASSWORD with its reason, never a generic validation error (the policy
# refuses one over MAX_PASSWORD_BYTES too, before any hashing); the schema shows the
# default policy's bounds (the body limit bounds what is read). Only text no hasher can
# take (a lone surrogate) is a VALIDATION_ERROR.
_NewPassword = Annotated[
    str,
    Field(
        description="12 to 128 characters by default; checked by the password policy.",
        json_schema_extra={"minLength": 12, "maxLength": 128, "format": "password"},
    ),
    AfterValidator(_unicode_text),
]
_Code = Annotated[str, Field(min_length=1, max_length=64, description="TOTP or recovery code.")]
_Token = Annotated[str, Field(min_length=1, max_length=4096)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UserCreate(_Input):
    """`POST /register` body."""

    email: NormalizedEmail
    password: _NewPassword


class UserOut(BaseModel):
    """A user as the API shows it: never a hash, a secret or a token."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: uuid.UUID
    email: str
    is_active: bool
    mfa_enabled: bool
    roles: list[str]
    created_at: datetime


class TokenPair(BaseModel):
    """A fresh access token and refresh token."""

    model_config = ConfigDict(frozen=True)

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(description="Access-token lifetime, in seconds.")


class MfaRequired(BaseModel):
    """The password was right; send a second factor to `/mfa/verify` with this token."""

    model_config = ConfigDict(frozen=True)

    mfa_required: Literal[True] = True
    mfa_token: str = Field(description="Single-use, short-lived; good for `/mfa/verify` only.")


class CookieSession(BaseModel):
    """Cookie mode: the tokens went into HttpOnly cookies; echo the CSRF token in a header."""

    model_config = ConfigDict(frozen=True)

    token_type: Literal["cookie"] = "cookie"  # noqa: S105 - a label, not a secret
    expires_in: int = Field(description="Access-token lifetime, in seconds.")
    csrf_token: str = Field(description="Send it back as `X-CSRF-Token` on unsafe requests.")


class MfaVerify(_Input):
    """`POST /mfa/verify` body."""

    mfa_token: _Token
    code: _Code


class RefreshRequest(_Input):
    """`POST /refresh` and `POST /logout` body (optional in cookie mode)."""

    refresh_token: _Token


class PasswordChange(_Input):
    """`POST /password` body."""

    current_password: _Password
    new_password: _NewPassword


class MfaSetup(BaseModel):
    """A new TOTP secret: show it (or its QR code) once, then confirm with `/mfa/enable`."""

    model_config = ConfigDict(frozen=True)

    secret: str
    otpauth_uri: str


class MfaCode(_Input):
    """`POST /mfa/enable` and `POST /mfa/disable` body."""

    code: _Code


class RecoveryCodesOut(BaseModel):
    """Recovery codes, shown this once; each works once instead of a TOTP code."""

    model_config = ConfigDict(frozen=True)

    recovery_codes: list[str]
