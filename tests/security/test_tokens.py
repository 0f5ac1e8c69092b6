"""JWTs: claims, the pinned algorithm, typ, iss/aud, expiry, kid rotation and the known attacks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from functools import cache

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from bastion.core import BastionSettings
from bastion.security import (
    ACCESS_TOKEN_TYPE,
    MFA_TOKEN_TYPE,
    InvalidTokenError,
    TokenService,
    derive_key,
)
from tests.conftest import TEST_SECRET
from tests.security.conftest import T0, FakeClock

KEY = b"k" * 32


def service(clock: FakeClock, **options: object) -> TokenService:
    settings: dict[str, object] = {
        "algorithm": "HS256",
        "signing_key": KEY,
        "issuer": "https://issuer.test",
        "audience": "notes-api",
        "clock": clock,
    }
    settings.update(options)
    return TokenService(**settings)  # type: ignore[arg-type]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def forge(header: dict[str, object], payload: dict[str, object], key: bytes | None) -> str:
    """Build a token by hand, HMAC-SHA256-signed with `key`, or unsigned when `key` is None."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    if key is None:
        return signing_input + "."
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def good_payload(**changes: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "iss": "https://issuer.test",
        "aud": "notes-api",
        "sub": "42",
        "iat": T0,
        "nbf": T0,
        "exp": T0 + 900,
        "jti": "abc",
    }
    payload.update(changes)
    return payload


HEADER = {"alg": "HS256", "typ": "at+jwt", "kid": "default"}


def reason_of(tokens: TokenService, token: str, token_type: str = ACCESS_TOKEN_TYPE) -> str:
    with pytest.raises(InvalidTokenError) as caught:
        tokens.decode(token, token_type=token_type)
    return caught.value.reason


def test_an_access_token_carries_every_claim_and_header(clock: FakeClock) -> None:
    tokens = service(clock)
    token = tokens.issue_access_token("42", session_id="sess-1", claims={"roles": ["admin"]})
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "HS256", "typ": "at+jwt", "kid": "default"}
    claims = tokens.verify_access_token(token)
    assert claims.subject == "42"
    assert claims.session_id == "sess-1"
    assert claims.token_type == "at+jwt"
    assert claims.issuer == "https://issuer.test"
    assert claims.audience == "notes-api"
    assert (claims.issued_at, claims.not_before, claims.expires_at) == (T0, T0, T0 + 900)
    assert claims.key_id == "default"
    assert claims.extra == {"roles": ["admin"]}
    assert len(claims.token_id) >= 16


def test_every_token_gets_a_unique_jti(clock: FakeClock) -> None:
    tokens = service(clock)
    ids = {tokens.verify_access_token(tokens.encode("1")).token_id for _ in range(20)}
    assert len(ids) == 20


def test_extra_claims_cannot_override_registered_ones(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="override"):
        service(clock).encode("1", claims={"exp": 0})


def test_the_mfa_token_is_short_lived_and_of_its_own_type(clock: FakeClock) -> None:
    tokens = service(clock, mfa_ttl=300)
    token = tokens.issue_mfa_token("42", claims={"amr": ["pwd"]})
    claims = tokens.verify_mfa_token(token)
    assert claims.token_type == MFA_TOKEN_TYPE
    assert claims.expires_at == T0 + 300
    assert claims.session_id is None


def test_an_mfa_token_is_refused_as_an_access_token_and_vice_versa(clock: FakeClock) -> None:
    tokens = service(clock)
    assert reason_of(tokens, tokens.issue_mfa_token("42")) == "typ"
    access = tokens.issue_access_token("42", session_id="s")
    assert reason_of(tokens, access, MFA_TOKEN_TYPE) == "typ"


@pytest.mark.parametrize("typ", [None, "JWT", "refresh+jwt", 7])
def test_a_missing_or_other_typ_is_refused(clock: FakeClock, typ: object) -> None:
    header = {"alg": "HS256", "kid": "default"} | ({} if typ is None else {"typ": typ})
    assert reason_of(service(clock), forge(header, good_payload(), KEY)) == "typ"


def test_a_hand_made_token_with_the_right_key_is_accepted(clock: FakeClock) -> None:
    # Guards the attack tests below: `forge` makes valid tokens when given the key.
    assert service(clock).verify_access_token(forge(HEADER, good_payload(), KEY)).subject == "42"


@pytest.mark.parametrize("alg", ["none", "None", "NONE", ""])
def test_alg_none_is_refused(clock: FakeClock, alg: str) -> None:
    token = forge(HEADER | {"alg": alg}, good_payload(), None)
    assert reason_of(service(clock), token) == "algorithm"


@pytest.mark.parametrize("alg", ["HS384", "HS512", "RS256"])
def test_any_algorithm_but_the_pinned_one_is_refused(clock: FakeClock, alg: str) -> None:
    token = forge(HEADER | {"alg": alg}, good_payload(), KEY)
    assert reason_of(service(clock), token) == "algorithm"


@pytest.mark.parametrize(
    "guess",
    [b"", b"secret", b"notes-api", TEST_SECRET.encode(), b"k" * 31, b"k" * 33],
)
def test_hs256_signed_with_an_empty_or_guessed_key_is_refused(
    clock: FakeClock, guess: bytes
) -> None:
    assert reason_of(service(clock), forge(HEADER, good_payload(), guess)) == "signature"


def test_the_raw_secret_key_does_not_sign_valid_tokens(clock: FakeClock) -> None:
    # With settings, the HMAC key is derived from the secret key: knowing neither
    # is enough to forge, and leaking the derived key does not leak the secret key.
    settings = BastionSettings(environment="test", secret_key=TEST_SECRET)
    tokens = TokenService.from_settings(settings, clock=clock)
    payload = good_payload(iss="bastion", aud="bastion")
    assert reason_of(tokens, forge(HEADER, payload, TEST_SECRET.encode())) == "signature"
    derived = derive_key(TEST_SECRET, "jwt")
    assert tokens.verify_access_token(forge(HEADER, payload, derived)).subject == "42"


def test_one_flipped_payload_byte_is_refused(clock: FakeClock) -> None:
    tokens = service(clock)
    token = tokens.issue_access_token("42", session_id="s")
    header, payload, signature = token.split(".")
    raw = bytearray(unb64(payload))
    position = raw.index(b'"42"') + 2
    raw[position] ^= 0x01  # "42" becomes "43"
    tampered = ".".join([header, b64(bytes(raw)), signature])
    assert reason_of(tokens, tampered) == "signature"


def test_every_single_character_change_of_a_token_is_refused(clock: FakeClock) -> None:
    tokens = service(clock)
    token = tokens.issue_access_token("42", session_id="s")
    for index in range(0, len(token), 7):
        if token[index] == ".":
            continue
        replacement = "A" if token[index] != "A" else "B"
        tampered = token[:index] + replacement + token[index + 1 :]
        with pytest.raises(InvalidTokenError):
            tokens.verify_access_token(tampered)


def test_a_token_expires_at_exp(clock: FakeClock) -> None:
    tokens = service(clock, access_ttl=900)
    token = tokens.issue_access_token("42", session_id="s")
    clock.advance(899)
    assert tokens.verify_access_token(token).subject == "42"
    clock.advance(1)
    assert reason_of(tokens, token) == "expired"


def test_leeway_tolerates_small_clock_skew(clock: FakeClock) -> None:
    tokens = service(clock, access_ttl=60, leeway=5)
    token = tokens.issue_access_token("42", session_id="s")
    clock.advance(64)
    assert tokens.verify_access_token(token)
    clock.advance(1)
    assert reason_of(tokens, token) == "expired"


def test_a_not_yet_valid_token_is_refused(clock: FakeClock) -> None:
    tokens = service(clock)
    assert reason_of(tokens, forge(HEADER, good_payload(nbf=T0 + 60), KEY)) == "not_yet_valid"
    clock.advance(60)
    assert tokens.verify_access_token(forge(HEADER, good_payload(nbf=T0 + 60), KEY))


def test_a_token_issued_in_the_future_is_refused(clock: FakeClock) -> None:
    token = forge(HEADER, good_payload(iat=T0 + 60), KEY)
    assert reason_of(service(clock), token) == "issued_in_future"


@pytest.mark.parametrize(
    ("claim", "value", "reason"),
    [
        ("aud", "other-api", "aud"),
        ("aud", ["other-api"], "aud"),
        ("aud", None, "aud"),
        ("iss", "https://evil.test", "iss"),
        ("iss", None, "iss"),
        ("sub", None, "claims"),
        ("sub", "", "claims"),
        ("sub", 42, "claims"),
        ("jti", None, "claims"),
        ("sid", 5, "claims"),
        ("exp", None, "claims"),
        ("exp", "9999999999", "claims"),
        ("iat", True, "claims"),
        ("nbf", 1.5, "claims"),
    ],
)
def test_wrong_or_missing_claims_are_refused(
    clock: FakeClock, claim: str, value: object, reason: str
) -> None:
    payload = good_payload(**{claim: value})
    if value is None:
        del payload[claim]
    assert reason_of(service(clock), forge(HEADER, payload, KEY)) == reason


def test_an_audience_list_including_ours_is_accepted(clock: FakeClock) -> None:
    token = forge(HEADER, good_payload(aud=["other-api", "notes-api"]), KEY)
    assert service(clock).verify_access_token(token).audience == "notes-api"


def test_a_token_for_another_issuer_or_audience_is_refused(clock: FakeClock) -> None:
    other = service(clock, issuer="https://other.test", audience="billing")
    token = other.issue_access_token("42", session_id="s")
    assert reason_of(service(clock), token) == "iss"
    same_issuer = service(clock, audience="billing")
    token = same_issuer.issue_access_token("42", session_id="s")
    assert reason_of(service(clock), token) == "aud"


@pytest.mark.parametrize("kid", ["retired", "", None, 3])
def test_an_unknown_or_missing_kid_is_refused(clock: FakeClock, kid: object) -> None:
    header = {"alg": "HS256", "typ": "at+jwt"} | ({} if kid is None else {"kid": kid})
    tokens = service(clock)
    reason = reason_of(tokens, forge(header, good_payload(), KEY))
    assert reason in {"kid", "malformed"}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("jku", "https://attacker.test/jwks.json"),
        ("jwk", {"kty": "oct", "k": b64(b"attacker-key" * 3)}),
        ("x5u", "https://attacker.test/cert.pem"),
        ("x5c", ["MIIB..."]),
        ("crit", ["exp"]),
    ],
)
def test_key_bearing_and_critical_headers_are_never_trusted(
    clock: FakeClock, name: str, value: object
) -> None:
    # Even correctly signed, a token pointing at keys elsewhere is refused outright.
    token = forge(HEADER | {name: value}, good_payload(), KEY)
    assert reason_of(service(clock), token) in {"header", "malformed"}


@pytest.mark.parametrize(
    "token",
    ["", "garbage", "a.b.c", "a.b", "....", "eyJhbGciOiJIUzI1NiJ9.e30", "é.é.é"],
)
def test_garbage_is_refused_as_an_invalid_token(clock: FakeClock, token: str) -> None:
    with pytest.raises(InvalidTokenError):
        service(clock).verify_access_token(token)


def test_oversized_non_canonical_or_non_object_headers_are_refused(clock: FakeClock) -> None:
    tokens = service(clock)
    good = tokens.issue_access_token("42", session_id="s")
    header, payload, signature = good.split(".")
    malformed = [
        "a" * 9000 + "." + good,  # longer than any token we issue, refused unparsed
        f"{b64(b'[]')}.{payload}.{signature}",  # header is not an object
        f"{header}.{payload}.{signature}.extra",
    ]
    for token in malformed:
        assert reason_of(tokens, token) == "malformed", token
    # Another spelling of the signed header is not what was signed: whether the base64
    # decoder refuses it (some PyJWT releases) or the signature check does, it is refused.
    respelled = [
        f"{header}=.{payload}.{signature}",  # padding
        f"{header[:-1]}{chr(ord(header[-1]) + 1)}.{payload}.{signature}",  # trailing bits
    ]
    for token in respelled:
        assert reason_of(tokens, token) in {"malformed", "signature"}, token


def test_a_signed_payload_that_is_not_base64url_json_is_refused(clock: FakeClock) -> None:
    signing_input = f"{b64(json.dumps(HEADER).encode())}.not*base64"
    signature = hmac.new(KEY, signing_input.encode(), hashlib.sha256).digest()
    assert reason_of(service(clock), f"{signing_input}.{b64(signature)}") == "malformed"


@pytest.mark.parametrize(
    ("algorithm", "kind"), [("ES256", "ec"), ("EdDSA", "ed"), ("RS256", "rsa")]
)
@pytest.mark.parametrize("signature", [b"", b"x", b"x" * 63, b"x" * 1000])
def test_asymmetric_signatures_of_any_length_are_refused(
    clock: FakeClock, algorithm: str, kind: str, signature: bytes
) -> None:
    tokens = service(clock, algorithm=algorithm, signing_key=pem_pair(kind)[0])
    header, payload, _ = tokens.issue_access_token("42", session_id="s").split(".")
    assert reason_of(tokens, f"{header}.{payload}.{b64(signature)}") == "signature"


def test_a_payload_that_is_not_an_object_is_refused(clock: FakeClock) -> None:
    signing_input = f"{b64(json.dumps(HEADER).encode())}.{b64(b'[1, 2]')}"
    signature = hmac.new(KEY, signing_input.encode(), hashlib.sha256).digest()
    assert reason_of(service(clock), f"{signing_input}.{b64(signature)}") == "malformed"


def test_keys_rotate_by_kid_without_invalidating_live_tokens(clock: FakeClock) -> None:
    old_key, new_key = b"o" * 32, b"n" * 32
    before = service(clock, signing_key=old_key, key_id="2026-01")
    old_token = before.issue_access_token("42", session_id="s")
    after = service(
        clock, signing_key=new_key, key_id="2026-02", verification_keys={"2026-01": old_key}
    )
    assert after.verify_access_token(old_token).key_id == "2026-01"
    new_token = after.issue_access_token("42", session_id="s")
    assert jwt.get_unverified_header(new_token)["kid"] == "2026-02"
    assert after.verify_access_token(new_token).key_id == "2026-02"
    # Once the old key is dropped, its tokens stop working; the old service never knew the new.
    dropped = service(clock, signing_key=new_key, key_id="2026-02")
    assert reason_of(dropped, old_token) == "kid"
    assert reason_of(before, new_token) == "kid"


def test_a_retired_kid_with_a_swapped_key_is_refused(clock: FakeClock) -> None:
    # A token signed with the new key but labelled with the old kid does not verify.
    old_key, new_key = b"o" * 32, b"n" * 32
    tokens = service(clock, signing_key=new_key, key_id="new", verification_keys={"old": old_key})
    token = forge(HEADER | {"kid": "old"}, good_payload(), new_key)
    assert reason_of(tokens, token) == "signature"


def test_the_error_is_one_401_invalid_token_with_no_detail_for_the_client(
    clock: FakeClock,
) -> None:
    with pytest.raises(InvalidTokenError) as caught:
        service(clock).verify_access_token("garbage")
    error = caught.value
    assert (error.status_code, error.code) == (401, "INVALID_TOKEN")
    assert error.message == "The token is invalid or has expired."
    assert error.details is None
    assert error.headers == {"WWW-Authenticate": 'Bearer error="invalid_token"'}


@cache
def pem_pair(kind: str) -> tuple[bytes, bytes]:
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
    if kind == "rsa":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif kind == "ec":
        private = ec.generate_private_key(ec.SECP256R1())
    else:
        private = ed25519.Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


@pytest.mark.parametrize(
    ("algorithm", "kind"), [("RS256", "rsa"), ("PS256", "rsa"), ("ES256", "ec"), ("EdDSA", "ed")]
)
def test_asymmetric_algorithms_sign_with_pem_keys_and_rotate(
    clock: FakeClock, algorithm: str, kind: str
) -> None:
    private_pem, public_pem = pem_pair(kind)
    tokens = service(clock, algorithm=algorithm, signing_key=private_pem, key_id="a")
    token = tokens.issue_access_token("42", session_id="s")
    assert jwt.get_unverified_header(token)["alg"] == algorithm
    assert tokens.verify_access_token(token).subject == "42"
    # A verifier holding only the public key accepts it under the old kid.
    other_private, _ = pem_pair("ed" if kind != "ed" else "rsa")
    other_alg = "EdDSA" if kind != "ed" else "RS256"
    verifier = service(
        clock,
        algorithm=algorithm,
        signing_key=private_pem,
        key_id="b",
        verification_keys={"a": public_pem},
    )
    assert verifier.verify_access_token(token).key_id == "a"
    foreign = service(clock, algorithm=other_alg, signing_key=other_private, key_id="a")
    assert reason_of(tokens, foreign.issue_access_token("42", session_id="s")) == "algorithm"


def test_hs256_signed_with_the_rsa_public_key_is_refused(clock: FakeClock) -> None:
    # The classic algorithm confusion: the public key used as an HMAC secret.
    private_pem, public_pem = pem_pair("rsa")
    tokens = service(clock, algorithm="RS256", signing_key=private_pem)
    assert reason_of(tokens, forge(HEADER, good_payload(), public_pem)) == "algorithm"


@pytest.mark.parametrize(
    ("algorithm", "key"),
    [
        ("HS256", b"short"),
        ("HS256", pem_pair("rsa")[1]),  # a PEM key is no HMAC secret
        ("RS256", b"k" * 64),
        ("RS256", pem_pair("ec")[0]),
        ("ES256", pem_pair("rsa")[0]),
    ],
)
def test_keys_that_do_not_suit_the_algorithm_are_refused_at_startup(
    clock: FakeClock, algorithm: str, key: bytes
) -> None:
    with pytest.raises(ValueError, match="JWT key"):
        service(clock, algorithm=algorithm, signing_key=key)


def test_a_weak_rsa_key_is_refused(clock: FakeClock) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024).private_bytes(  # noqa: S505 - the weak key is the point
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(ValueError, match="too short"):
        service(clock, algorithm="RS256", signing_key=weak)


def test_from_settings_uses_the_configured_algorithm_keys_and_lifetimes(clock: FakeClock) -> None:
    private_pem, public_pem = pem_pair("ec")
    settings = BastionSettings(
        environment="test",
        app_name="notes",
        jwt_algorithm="ES256",
        jwt_signing_key=private_pem.decode(),
        jwt_key_id="k2",
        jwt_verification_keys={"k1": public_pem.decode()},
        jwt_issuer="https://notes.test",
        access_token_ttl=600,
        mfa_token_ttl=120,
        jwt_leeway=3,
    )
    tokens = TokenService.from_settings(settings, clock=clock)
    assert (tokens.issuer, tokens.audience) == ("https://notes.test", "notes")
    assert (tokens.access_ttl, tokens.mfa_ttl, tokens.leeway) == (600, 120, 3)
    claims = tokens.verify_access_token(tokens.issue_access_token("7", session_id="s"))
    assert (claims.key_id, claims.expires_at) == ("k2", T0 + 600)


@pytest.mark.parametrize(("algorithm", "length"), [("HS256", 32), ("HS384", 48), ("HS512", 64)])
def test_a_configured_hs_key_signs_as_given_so_pyjwt_verifies_with_it(
    clock: FakeClock, algorithm: str, length: int
) -> None:
    configured = "s" * length
    settings = BastionSettings(
        environment="test",
        app_name="notes",
        jwt_algorithm=algorithm,
        jwt_signing_key=configured,
    )
    token = TokenService.from_settings(settings, clock=clock).issue_access_token(
        "7", session_id="s"
    )
    claims = jwt.decode(
        token,
        configured,
        algorithms=[algorithm],
        audience="notes",
        issuer="notes",
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    assert claims["sub"] == "7"


@pytest.mark.parametrize("algorithm", ["HS256", "HS384", "HS512"])
def test_without_a_configured_key_every_hs_algorithm_derives_one_long_enough(
    clock: FakeClock, algorithm: str
) -> None:
    settings = BastionSettings(environment="test", secret_key=TEST_SECRET, jwt_algorithm=algorithm)
    tokens = TokenService.from_settings(settings, clock=clock)
    token = tokens.issue_access_token("7", session_id="s")
    assert tokens.verify_access_token(token).subject == "7"


def test_retired_hs_keys_are_used_as_configured(clock: FakeClock) -> None:
    old = BastionSettings(environment="test", jwt_key_id="one", jwt_signing_key="o" * 40)
    token = TokenService.from_settings(old, clock=clock).issue_access_token("1", session_id="s")
    new = BastionSettings(
        environment="test",
        jwt_key_id="two",
        jwt_signing_key="n" * 40,
        jwt_verification_keys={"one": "o" * 40},
    )
    assert TokenService.from_settings(new, clock=clock).verify_access_token(token).key_id == "one"


@pytest.mark.parametrize("environment", ["development", "test"])
def test_an_hs_key_shorter_than_its_hash_is_refused_at_startup_everywhere(
    clock: FakeClock, environment: str
) -> None:
    settings = BastionSettings(environment=environment, jwt_signing_key="short")
    with pytest.raises(ValueError, match="too short"):
        TokenService.from_settings(settings, clock=clock)
