"""Recovery codes: ten high-entropy codes, keyed hashes, a constant-time match."""

from __future__ import annotations

import re

import pytest

from bastion.core import BastionSettings
from bastion.security import RECOVERY_CODE_COUNT, RecoveryCodes, normalize_code

CODE = re.compile(r"^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$")


@pytest.fixture
def recovery(fast_settings: BastionSettings) -> RecoveryCodes:
    return RecoveryCodes.from_settings(fast_settings)


def test_ten_distinct_readable_codes_of_80_bits_are_generated(recovery: RecoveryCodes) -> None:
    issued = recovery.generate()
    assert RECOVERY_CODE_COUNT == 10
    assert len(issued.codes) == len(set(issued.codes)) == 10
    for code in issued.codes:
        assert CODE.match(code), code
    # 16 symbols from a 32-symbol alphabet.
    assert len(normalize_code(issued.codes[0])) * 5 == 80


def test_codes_are_stored_only_as_keyed_hashes(
    recovery: RecoveryCodes, fast_settings: BastionSettings
) -> None:
    issued = recovery.generate()
    assert issued.hashes == [recovery.hash(code) for code in issued.codes]
    for code, stored in zip(issued.codes, issued.hashes, strict=True):
        assert re.fullmatch(r"[0-9a-f]{64}", stored)
        assert normalize_code(code) not in stored
    other_key = fast_settings.model_copy(update={"secret_key": "another-secret-key-" * 3})
    assert RecoveryCodes.from_settings(other_key).hash(issued.codes[0]) != issued.hashes[0]


def test_a_code_matches_its_hash_however_it_is_typed(recovery: RecoveryCodes) -> None:
    issued = recovery.generate()
    code = issued.codes[4]
    assert recovery.match(code, issued.hashes) == 4
    assert recovery.match(code.upper(), issued.hashes) == 4
    assert recovery.match(code.replace("-", ""), issued.hashes) == 4
    assert recovery.match(code.replace("-", " "), issued.hashes) == 4


def test_confusable_letters_are_read_as_the_digits_they_look_like() -> None:
    assert normalize_code("IoL0-u") == "1010v"


@pytest.mark.parametrize("code", ["", "0000-0000-0000-0000", "not a code"])
def test_a_wrong_code_matches_nothing(recovery: RecoveryCodes, code: str) -> None:
    assert recovery.match(code, recovery.generate().hashes) is None


def test_a_consumed_code_no_longer_matches(recovery: RecoveryCodes) -> None:
    # The contract: the caller removes (or marks used) the matched hash atomically.
    issued = recovery.generate()
    remaining = list(issued.hashes)
    index = recovery.match(issued.codes[0], remaining)
    assert index == 0
    del remaining[index]
    assert recovery.match(issued.codes[0], remaining) is None
    assert recovery.match(issued.codes[1], remaining) == 0


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        RecoveryCodes(b"short")
