"""Signed JWTs (access and other single-purpose tokens) with a pinned algorithm and key rotation."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeAlias, cast

from bastion.core import BastionSettings, JwtAlgorithm
from bastion.security._claims import (
    ACCESS_TOKEN_TYPE,
    FORBIDDEN_HEADERS,
    MFA_TOKEN_TYPE,
    REGISTERED_CLAIMS,
    TokenClaims,
    check_claims,
)
from bastion.security._clock import Clock, system_clock
from bastion.security._crypto import derive_key
from bastion.security._errors import InvalidTokenError

__all__ = [
    "ACCESS_TOKEN_TYPE",
    "MFA_TOKEN_TYPE",
    "REGISTERED_CLAIMS",
    "TokenClaims",
    "TokenService",
]

#: Longer tokens are refused before any parsing (ours are a few hundred bytes).
_MAX_TOKEN_LENGTH = 8192

#: The derived HMAC key is as long as the hash's output, RFC 7518's minimum.
_HMAC_KEY_BYTES = {JwtAlgorithm.HS256: 32, JwtAlgorithm.HS384: 48, JwtAlgorithm.HS512: 64}

if TYPE_CHECKING:
    from jwt.algorithms import AllowedPrivateKeys, AllowedPublicKeys

    _VerifyKey: TypeAlias = AllowedPublicKeys | bytes
    _SignKey: TypeAlias = AllowedPrivateKeys | bytes


class TokenService:
    """Issues and verifies JWTs for one issuer and audience, with one pinned algorithm.

    One key signs (its `kid` goes in the header); verification picks the key by
    `kid` among the signing key and the retired ones, so keys rotate without
    logging anyone out. Any other algorithm (`none` included), an unknown or
    missing `kid`, key-bearing headers (`jku`, `jwk`, `x5u`, ...), a wrong `typ`,
    `iss` or `aud`, and an expired or not-yet-valid token all raise
    `InvalidTokenError` (401 `INVALID_TOKEN`).
    """

    def __init__(
        self,
        *,
        algorithm: JwtAlgorithm | str,
        signing_key: str | bytes,
        key_id: str = "default",
        verification_keys: Mapping[str, str | bytes] | None = None,
        issuer: str,
        audience: str,
        access_ttl: int = 900,
        mfa_ttl: int = 300,
        leeway: int = 0,
        clock: Clock = system_clock,
    ) -> None:
        """Create the service.

        Args:
            algorithm: The one algorithm used and accepted.
            signing_key: HMAC secret (HS*) or PEM private key.
            key_id: `kid` of the signing key.
            verification_keys: Retired keys still accepted, by `kid` (HMAC secrets
                or PEM public keys).
            issuer: `iss` set and required.
            audience: `aud` set and required.
            access_ttl: Access token lifetime, in seconds.
            mfa_ttl: MFA-pending token lifetime, in seconds.
            leeway: Clock skew allowed on `exp`, `nbf` and `iat`, in seconds.
            clock: Source of the current time.

        Raises:
            ValueError: If a key does not suit the algorithm or is too weak.
        """
        self.algorithm = JwtAlgorithm(algorithm)
        self.key_id = key_id
        self.issuer = issuer
        self.audience = audience
        self.access_ttl = access_ttl
        self.mfa_ttl = mfa_ttl
        self.leeway = leeway
        self._clock = clock
        # PyJWT (and cryptography under it) loads with the first token service
        # built, not with `import bastion`.
        import jwt

        self._jwt = jwt.PyJWT(options={"enforce_minimum_key_length": True})
        self._algo = jwt.get_algorithm_by_name(self.algorithm.value)
        self._signing_key = cast("_SignKey", self._prepare(key_id, signing_key))
        self._verify_keys: dict[str, _VerifyKey] = {}
        for kid, key in (verification_keys or {}).items():
            self._verify_keys[kid] = cast("_VerifyKey", self._prepare(kid, key))
        self._verify_keys[key_id] = self._public(self._signing_key)

    def _prepare(self, kid: str, key: str | bytes) -> object:
        from jwt.exceptions import InvalidKeyError

        try:
            prepared = self._algo.prepare_key(key)
        except (InvalidKeyError, ValueError, TypeError) as exc:
            raise ValueError(f"JWT key {kid!r} does not suit {self.algorithm}") from exc
        if self._algo.check_key_length(prepared):
            raise ValueError(f"JWT key {kid!r} is too short for {self.algorithm}")
        return prepared

    def _public(self, key: _SignKey) -> _VerifyKey:
        if isinstance(key, bytes):
            return key
        public_key = getattr(key, "public_key", None)
        return cast("_VerifyKey", public_key() if callable(public_key) else key)

    @classmethod
    def from_settings(
        cls, settings: BastionSettings, *, clock: Clock = system_clock
    ) -> TokenService:
        """Build the service from settings.

        Configured keys (`jwt_signing_key`, `jwt_verification_keys`) are used as
        given, so another service verifies with the same configured value. With
        an HS* algorithm and no `jwt_signing_key`, the HMAC key is derived from
        `secret_key` with HKDF (`purpose="jwt"`), as long as the hash's output.

        Args:
            settings: The app settings.
            clock: Source of the current time.

        Returns:
            The service.

        Raises:
            ValueError: A key does not suit the algorithm, or an HMAC key is
                shorter than its hash's output (RFC 7518, section 3.2).
        """
        algorithm = settings.jwt_algorithm
        if settings.jwt_signing_key is not None:
            signing: str | bytes = settings.jwt_signing_key.get_secret_value()
        else:
            # Asymmetric algorithms without a key are refused by the settings.
            signing = derive_key(settings.secret_key, "jwt", length=_HMAC_KEY_BYTES[algorithm])
        return cls(
            algorithm=algorithm,
            signing_key=signing,
            key_id=settings.jwt_key_id,
            verification_keys={
                kid: key.get_secret_value() for kid, key in settings.jwt_verification_keys.items()
            },
            issuer=settings.jwt_issuer or settings.app_name,
            audience=settings.jwt_audience or settings.app_name,
            access_ttl=settings.access_token_ttl,
            mfa_ttl=settings.mfa_token_ttl,
            leeway=settings.jwt_leeway,
            clock=clock,
        )

    def encode(
        self,
        subject: str,
        *,
        token_type: str = ACCESS_TOKEN_TYPE,
        ttl: int | None = None,
        session_id: str | None = None,
        claims: Mapping[str, object] | None = None,
    ) -> str:
        """Sign a token of `token_type` for `subject`.

        Args:
            subject: `sub`, the user id as text.
            token_type: The `typ` header; verification must ask for the same one.
            ttl: Lifetime in seconds; the access-token TTL when omitted.
            session_id: `sid`, the login session, if any.
            claims: Extra JSON-ready claims (not the registered ones).

        Returns:
            The compact JWT.

        Raises:
            ValueError: If `claims` tries to set a registered claim.
        """
        extra = dict(claims or {})
        clash = REGISTERED_CLAIMS.intersection(extra)
        if clash:
            raise ValueError(f"claims may not override {sorted(clash)}")
        now = int(self._clock())
        payload: dict[str, object] = {
            **extra,
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + (self.access_ttl if ttl is None else ttl),
            "jti": secrets.token_urlsafe(16),
        }
        if session_id is not None:
            payload["sid"] = session_id
        return self._jwt.encode(
            payload,
            self._signing_key,
            algorithm=self.algorithm.value,
            headers={"typ": token_type, "kid": self.key_id},
        )

    def issue_access_token(
        self, subject: str, *, session_id: str | None, claims: Mapping[str, object] | None = None
    ) -> str:
        """Sign an access token (`typ: at+jwt`, access TTL).

        Args:
            subject: The user id as text.
            session_id: The login session, checked for liveness by the auth layer.
            claims: Extra claims (roles, scopes, ...).

        Returns:
            The compact JWT.
        """
        return self.encode(subject, session_id=session_id, claims=claims)

    def verify_access_token(self, token: str) -> TokenClaims:
        """Verify an access token; any other kind of token is refused.

        Args:
            token: The compact JWT.

        Returns:
            Its verified claims.

        Raises:
            InvalidTokenError: If it is not a valid access token now.
        """
        return self.decode(token, token_type=ACCESS_TOKEN_TYPE)

    def issue_mfa_token(self, subject: str, *, claims: Mapping[str, object] | None = None) -> str:
        """Sign an MFA-pending token (`typ: mfa+jwt`, MFA TTL).

        Its `jti` lets the auth layer make it single-use.

        Args:
            subject: The user id as text.
            claims: Extra claims.

        Returns:
            The compact JWT.
        """
        return self.encode(subject, token_type=MFA_TOKEN_TYPE, ttl=self.mfa_ttl, claims=claims)

    def verify_mfa_token(self, token: str) -> TokenClaims:
        """Verify an MFA-pending token; access tokens and others are refused.

        Args:
            token: The compact JWT.

        Returns:
            Its verified claims.

        Raises:
            InvalidTokenError: If it is not a valid MFA-pending token now.
        """
        return self.decode(token, token_type=MFA_TOKEN_TYPE)

    def decode(self, token: str, *, token_type: str) -> TokenClaims:
        """Verify a token of `token_type` and return its claims.

        The header passes bastion's policy before any signature work (the pinned
        `alg`, the expected `typ`, a known `kid`, no key-bearing or critical
        header); PyJWT's `decode_complete` then checks the signature with that
        key and algorithm only, `iss`, `aud` and the required claims. The time
        claims are checked last against the service's clock, which tests can
        move (PyJWT reads the wall clock).

        Args:
            token: The compact JWT.
            token_type: The `typ` it must have.

        Returns:
            Its verified claims.

        Raises:
            InvalidTokenError: If anything about it is wrong (see the class doc).
        """
        if len(token) > _MAX_TOKEN_LENGTH:
            raise InvalidTokenError("malformed")
        import jwt

        from bastion.security._pyjwt import DECODE_OPTIONS, reason_for

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidTokenError("malformed") from exc
        kid, key = self._check_header(header, token_type)
        try:
            decoded = self._jwt.decode_complete(
                token,
                key,
                algorithms=[self.algorithm.value],
                audience=self.audience,
                issuer=self.issuer,
                options=DECODE_OPTIONS,
            )
        except jwt.PyJWTError as exc:
            raise InvalidTokenError(reason_for(exc)) from exc
        return check_claims(
            decoded["payload"],
            token_type=token_type,
            key_id=kid,
            issuer=self.issuer,
            audience=self.audience,
            now=self._clock(),
            leeway=self.leeway,
        )

    def _check_header(
        self, header: Mapping[str, object], token_type: str
    ) -> tuple[str, _VerifyKey]:
        if header.get("alg") != self.algorithm.value:
            raise InvalidTokenError("algorithm")
        if FORBIDDEN_HEADERS.intersection(header):
            raise InvalidTokenError("header")
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() != token_type.lower():
            raise InvalidTokenError("typ")
        kid = header.get("kid")
        key = self._verify_keys.get(kid) if isinstance(kid, str) else None
        if key is None or not isinstance(kid, str):
            raise InvalidTokenError("kid")
        return kid, key
