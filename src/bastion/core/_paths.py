"""Path-prefix tables for per-route overrides and exemptions (segment-aware)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Generic, TypeVar

__all__ = ["PathTable", "PrefixSet", "any_prefix", "matches_prefix"]

T = TypeVar("T")


def matches_prefix(path: str, prefix: str) -> bool:
    """Whether `path` is `prefix` or lies under it (`/a` matches `/a/b`, not `/ab`)."""
    prefix = prefix.rstrip("/")
    if not prefix:
        return True
    return path == prefix or path.startswith(prefix + "/")


class PathTable(Generic[T]):
    """Values by path prefix; the longest matching prefix wins, else the default.

    Args:
        default: The value for paths no prefix matches.
        routes: `{prefix: value}` overrides.
    """

    __slots__ = ("_default", "_routes")

    def __init__(self, default: T, routes: Mapping[str, T] | None = None) -> None:
        """Sort the prefixes longest first."""
        self._default = default
        self._routes = sorted((routes or {}).items(), key=lambda item: -len(item[0]))

    def __call__(self, path: str) -> T:
        """The value for `path`."""
        for prefix, value in self._routes:
            if matches_prefix(path, prefix):
                return value
        return self._default


def any_prefix(path: str, prefixes: Iterable[str]) -> bool:
    """Whether `path` lies under any of `prefixes`."""
    return any(matches_prefix(path, prefix) for prefix in prefixes)


class PrefixSet:
    """A fixed set of path prefixes, matched in one `str.startswith` call.

    Args:
        prefixes: The prefixes (`/health` matches `/health` and `/health/...`).
    """

    __slots__ = ("exact", "under")

    def __init__(self, prefixes: Iterable[str]) -> None:
        """Precompute the exact paths and the `prefix/` forms."""
        cleaned = [p.rstrip("/") for p in prefixes]
        #: The paths matched exactly.
        self.exact = frozenset(cleaned) | ({"/"} if "" in cleaned else set())
        #: The `prefix/` forms a path under a prefix starts with.
        self.under = tuple(p + "/" for p in cleaned)

    def __contains__(self, path: object) -> bool:
        """Whether `path` is one of the prefixes or lies under one."""
        return isinstance(path, str) and (path in self.exact or path.startswith(self.under))
