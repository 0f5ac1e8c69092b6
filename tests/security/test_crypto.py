"""Key derivation, AES-GCM encryption at rest, opaque tokens and constant-time comparison."""

from __future__ import annotations

import base64
import re

import pytest
from pydantic import SecretStr

from bastion.core import BastionSettings
from bastion.security import (
    DecryptionError,
    SecretBox,
    constant_time_equals,
    derive_key,
    generate_token,
    hash_token,
)


@pytest.fixture
def box(fast_settings: BastionSettings) -> SecretBox:
    return SecretBox.from_settings(fast_settings)


def test_derived_keys_are_stable_and_separated_by_purpose() -> None:
    assert derive_key("master", "jwt") == derive_key(SecretStr("master"), "jwt")
    assert derive_key("master", "jwt") == derive_key(b"master", "jwt")
    assert derive_key("master", "jwt") != derive_key("master", "csrf")
    assert derive_key("master", "jwt") != derive_key("other", "jwt")
    assert len(derive_key("master", "jwt")) == 32
    assert len(derive_key("master", "jwt", length=64)) == 64


def test_a_secret_round_trips_through_the_box(box: SecretBox) -> None:
    ciphertext = box.encrypt("JBSWY3DPEHPK3PXP", associated_data=b"user:1")
    assert ciphertext.startswith("v1.")
    assert "JBSWY3DPEHPK3PXP" not in ciphertext
    assert box.decrypt_text(ciphertext, associated_data=b"user:1") == "JBSWY3DPEHPK3PXP"
    assert box.decrypt(box.encrypt(b"\x00\xff")) == b"\x00\xff"


def test_each_encryption_uses_a_fresh_nonce(box: SecretBox) -> None:
    assert box.encrypt("same") != box.encrypt("same")


def test_a_ciphertext_moved_to_another_row_does_not_decrypt(box: SecretBox) -> None:
    ciphertext = box.encrypt("secret", associated_data=b"user:1")
    with pytest.raises(DecryptionError):
        box.decrypt(ciphertext, associated_data=b"user:2")


def test_another_key_or_purpose_cannot_decrypt(
    box: SecretBox, fast_settings: BastionSettings
) -> None:
    ciphertext = box.encrypt("secret")
    with pytest.raises(DecryptionError):
        SecretBox.from_settings(fast_settings, purpose="other").decrypt(ciphertext)
    with pytest.raises(DecryptionError):
        SecretBox(b"\x01" * 32).decrypt(ciphertext)


def _flip(ciphertext: str, index: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(ciphertext[3:]))
    raw[index] ^= 0x80
    return "v1." + base64.urlsafe_b64encode(bytes(raw)).decode()


@pytest.mark.parametrize("index", [0, 12, -1])
def test_a_tampered_ciphertext_is_refused(box: SecretBox, index: int) -> None:
    with pytest.raises(DecryptionError, match="authentication"):
        box.decrypt(_flip(box.encrypt("secret"), index))


@pytest.mark.parametrize(
    ("ciphertext", "message"),
    [
        ("v2.AAAA", "version"),
        ("secret", "version"),
        ("v1.!!!", "malformed"),
        ("v1.é", "malformed"),
        ("v1.AAAA", "malformed"),
    ],
)
def test_malformed_or_unknown_ciphertexts_are_refused(
    box: SecretBox, ciphertext: str, message: str
) -> None:
    with pytest.raises(DecryptionError, match=message):
        box.decrypt(ciphertext)


def test_decrypt_text_refuses_binary_plaintext(box: SecretBox) -> None:
    with pytest.raises(DecryptionError, match="not text"):
        box.decrypt_text(box.encrypt(b"\xff\xfe"))


def test_the_box_needs_a_32_byte_key() -> None:
    with pytest.raises(ValueError, match="32-byte"):
        SecretBox(b"short")


def test_opaque_tokens_carry_at_least_256_bits() -> None:
    tokens = {generate_token() for _ in range(100)}
    assert len(tokens) == 100
    for token in tokens:
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    assert len(generate_token(48)) == 64
    with pytest.raises(ValueError, match="32 random bytes"):
        generate_token(16)


def test_token_hashes_are_stable_hex_and_reveal_nothing() -> None:
    token = generate_token()
    assert hash_token(token) == hash_token(token)
    assert re.fullmatch(r"[0-9a-f]{64}", hash_token(token))
    assert hash_token(token) != hash_token(generate_token())
    assert token not in hash_token(token)


@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [("abc", "abc", True), ("abc", "abd", False), (b"abc", "abc", True), ("é", "e", False)],
)
def test_constant_time_equals(left: str | bytes, right: str | bytes, equal: bool) -> None:
    assert constant_time_equals(left, right) is equal
