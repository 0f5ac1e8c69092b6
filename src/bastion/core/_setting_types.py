"""Setting types checked when the settings load: rate limits, path prefixes, networks, URLs."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Annotated

from limits import parse_many
from pydantic import AfterValidator, SecretStr
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

__all__ = [
    "DatabaseUrlSetting",
    "NetworkSetting",
    "OptionalRateLimitSetting",
    "PathPrefixSetting",
    "RateLimitSetting",
    "RateLimitStorageUrlSetting",
    "RedisUrlSetting",
]

_REDIS_SCHEMES = ("redis", "rediss", "unix")


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


def _path_prefix(value: str) -> str:
    """`value` when it is a path prefix: a prefix without the leading `/` matches no path."""
    if not value.startswith("/"):
        raise ValueError("expected a path prefix starting with `/`, such as `/api/v1/uploads`")
    return value


def _network(value: str) -> str:
    """`value` when it is an IP address or a network in CIDR notation."""
    try:
        ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise ValueError(
            "expected an IP address or a network in CIDR notation, such as `10.0.0.0/8`"
        ) from None
    return value.strip()


_DRIVERS = frozenset({"postgresql+asyncpg", "sqlite+aiosqlite"})


def _database_url(value: SecretStr) -> SecretStr:
    """`value` when it is a SQLAlchemy URL of a database SQLAlchemy knows.

    The error never repeats the URL: it may hold a password.
    """
    try:
        url = make_url(value.get_secret_value())
        url.get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError):
        raise ValueError(
            "expected a SQLAlchemy database URL, such as `postgresql+asyncpg://user@host/db`"
        ) from None
    # The engine's timeouts and outage handling are asyncpg's and aiosqlite's; other
    # drivers are not installed with bastion, or not async, and fail later, less clearly.
    if url.drivername not in _DRIVERS:
        raise ValueError(
            "expected the driver `postgresql+asyncpg://user@host/db` "
            "(pip install 'bastion[postgres]') or `sqlite+aiosqlite:///app.db`"
        )
    return value


def _url_with(schemes: tuple[str, ...]) -> Callable[[SecretStr | None], SecretStr | None]:
    """A check that a URL (None when empty) starts with one of `schemes`."""
    expected = " or ".join(f"`{scheme}://`" for scheme in schemes)

    def check(value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        scheme, separator, _ = value.get_secret_value().strip().partition("://")
        if not separator or scheme.lower() not in schemes:
            raise ValueError(f"expected a URL starting with {expected}")
        return value

    return check


#: One limit (`10/minute`, `100 per hour`); a bad one is refused when the settings load.
RateLimitSetting = Annotated[str, AfterValidator(_one_limit)]
#: One limit, or none: an empty value (`BASTION_X=`) turns it off.
OptionalRateLimitSetting = Annotated[str | None, AfterValidator(_one_limit_or_none)]
#: A path prefix (`/api/v1/uploads`): it must start with `/`.
PathPrefixSetting = Annotated[str, AfterValidator(_path_prefix)]
#: An IP address or network (`10.0.0.0/8`, `::1`).
NetworkSetting = Annotated[str, AfterValidator(_network)]
#: A SQLAlchemy URL (`postgresql+asyncpg://...`, `sqlite+aiosqlite:///...`).
DatabaseUrlSetting = Annotated[SecretStr, AfterValidator(_database_url)]
#: A Redis URL, or none: an empty value is unset.
RedisUrlSetting = Annotated[SecretStr | None, AfterValidator(_url_with(_REDIS_SCHEMES))]
#: `memory://` or a Redis URL, or none: an empty value is unset.
RateLimitStorageUrlSetting = Annotated[
    SecretStr | None, AfterValidator(_url_with(("memory", *_REDIS_SCHEMES)))
]
