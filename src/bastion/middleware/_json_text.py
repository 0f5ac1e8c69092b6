"""Find text in a JSON body that cannot be encoded (lone UTF-16 surrogate escapes)."""

from __future__ import annotations

import json
import re

__all__ = ["find_lone_surrogate", "may_hold_surrogate"]

# A JSON `\uD800`-`\uDFFF` escape: the only way a surrogate enters a UTF-8 body.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
# Escapes in order: an escaped backslash, or a \uXXXX escape. Consuming `\\` as one token
# keeps `\\ud800` (a backslash, then the text "ud800") from looking like an escape.
_ESCAPE_TOKEN = re.compile(rb"\\\\|\\u([0-9a-fA-F]{4})")


def may_hold_surrogate(chunk: bytes) -> bool:
    """Cheap pre-check: whether `chunk` holds an escape in the surrogate range."""
    return _SURROGATE_ESCAPE.search(chunk) is not None


def _has_lone_surrogate(body: bytes) -> bool:
    pending_high_end = -1  # end offset of a high surrogate awaiting its low half
    for match in _ESCAPE_TOKEN.finditer(body):
        hex_digits = match.group(1)
        unit = int(hex_digits, 16) if hex_digits is not None else -1
        if pending_high_end >= 0:
            if match.start() == pending_high_end and 0xDC00 <= unit <= 0xDFFF:
                pending_high_end = -1
                continue
            return True
        if 0xD800 <= unit <= 0xDBFF:
            pending_high_end = match.end()
        elif 0xDC00 <= unit <= 0xDFFF:
            return True
    return pending_high_end >= 0


def _locate(value: object, loc: list[str | int]) -> list[str | int] | None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return loc
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if _locate(key, loc) is not None:
                return loc
            found = _locate(item, [*loc, key])
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _locate(item, [*loc, index])
            if found is not None:
                return found
    return None


def find_lone_surrogate(body: bytes) -> list[str | int] | None:
    r"""Return the location (`["body", "field", ...]`) of unencodable text, or `None`.

    Python's `json` accepts `"\\ud800"` and yields a string that can be neither
    stored nor serialized; a valid pair (`"\\ud83d\\ude00"`) is fine.
    """
    if not _has_lone_surrogate(body):
        return None
    try:
        parsed = json.loads(body)
    except ValueError:
        return ["body"]
    return _locate(parsed, ["body"]) or ["body"]
