"""Settings in `limits` notation, checked when the settings load."""

from __future__ import annotations

from typing import Annotated

from limits import parse_many
from pydantic import AfterValidator

__all__ = ["OptionalRateLimitSetting", "RateLimitSetting"]


def _one_limit(value: str) -> str:
    """`value` when it is one limit of at least one hit (`10/minute`)."""
    try:
        items = parse_many(value)
    except ValueError:
        items = []
    if len(items) != 1 or items[0].amount < 1:
        raise ValueError("expected one rate limit in `limits` notation, such as `10/minute`")
    return value.strip()


def _one_limit_or_none(value: str | None) -> str | None:
    """None for an empty value (no limit), else `value` checked as one limit."""
    if value is None or not value.strip():
        return None
    return _one_limit(value)


#: One limit (`10/minute`, `100 per hour`); a bad one is refused when the settings load.
RateLimitSetting = Annotated[str, AfterValidator(_one_limit)]
#: One limit, or none: an empty value (`BASTION_X=`) turns it off.
OptionalRateLimitSetting = Annotated[str | None, AfterValidator(_one_limit_or_none)]
