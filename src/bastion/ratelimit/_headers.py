"""The `RateLimit-*` response headers, and the per-request slot limits report into."""

from __future__ import annotations

import functools
import math
from typing import Literal

from starlette.types import Scope

from bastion.ratelimit._result import RateLimitResult

__all__ = [
    "REPORT_SCOPE_KEY",
    "HeaderMode",
    "RateLimitReport",
    "rate_limit_headers",
    "report_rate_limit",
    "tighter",
]

#: Which header form is sent: the `RateLimit-Limit/-Remaining/-Reset` trio clients
#: read today (`legacy`), the IETF draft's `RateLimit-Policy` + `RateLimit` (`draft`),
#: both, or none.
HeaderMode = Literal["both", "legacy", "draft", "none"]

#: Where the rate-limit layer keeps the request's `RateLimitReport` in the ASGI scope.
REPORT_SCOPE_KEY = "bastion.ratelimit"


class RateLimitReport:
    """The tightest limit seen while serving one request (lives in the ASGI scope).

    Attributes:
        result: The result with the least remaining so far, or None.
    """

    # A class default rather than `__init__`: one report is made per request.
    result: RateLimitResult | None = None

    def add(self, result: RateLimitResult) -> None:
        """Keep `result` if it is closer to exhaustion (see `tighter`) and was counted.

        An uncounted result (the storage was down) reports nothing: its figures
        are not a count, and a header must not claim a budget nobody kept.
        """
        if result.counted:
            self.result = tighter(self.result, result)

    @staticmethod
    def install(scope: Scope) -> RateLimitReport:
        """Put a fresh report in `scope` and return it."""
        report = scope[REPORT_SCOPE_KEY] = RateLimitReport()
        return report


def tighter(current: RateLimitResult | None, result: RateLimitResult) -> RateLimitResult:
    """The limit of the two closer to exhaustion.

    A refusal wins over a limit that let the request through, so a 429's
    `RateLimit-Reset` is the refusing limit's, equal to its `Retry-After`;
    otherwise the least remaining wins (ties: the later reset).
    """
    if current is None:
        return result
    if result.allowed != current.allowed:
        return current if result.allowed else result
    if result.remaining < current.remaining or (
        result.remaining == current.remaining and result.reset_after > current.reset_after
    ):
        return result
    return current


def report_rate_limit(scope: Scope, result: RateLimitResult) -> None:
    """Report `result` for the response headers (no-op without the rate-limit layer)."""
    report: RateLimitReport | None = scope.get(REPORT_SCOPE_KEY)
    if report is not None:
        report.add(result)


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def rate_limit_headers(
    result: RateLimitResult, mode: HeaderMode = "both"
) -> list[tuple[bytes, bytes]]:
    """Render `result` as raw ASGI headers.

    `RateLimit-Reset` and the draft's `t=` are delta seconds (rounded up), never
    an epoch.
    """
    if mode == "none":
        return []
    limit_header, policy_header, draft_prefix = _policy(result.name, result.limit, result.window)
    remaining = b"%d" % result.remaining
    reset = b"%d" % math.ceil(result.reset_after)
    if mode == "both":
        return [
            limit_header,
            (b"ratelimit-remaining", remaining),
            (b"ratelimit-reset", reset),
            policy_header,
            (b"ratelimit", draft_prefix + remaining + b";t=" + reset),
        ]
    if mode == "legacy":
        return [limit_header, (b"ratelimit-remaining", remaining), (b"ratelimit-reset", reset)]
    return [policy_header, (b"ratelimit", draft_prefix + remaining + b";t=" + reset)]


_Header = tuple[bytes, bytes]


# Limits are few and fixed at startup: what depends on the limit alone is rendered
# once (the cache is bounded, should names ever come from requests).
@functools.lru_cache(maxsize=1024)
def _policy(name: str, limit: int, window: int) -> tuple[_Header, _Header, bytes]:
    """`(RateLimit-Limit, RateLimit-Policy, the start of RateLimit)` of one limit."""
    quoted = _quoted(name).encode()
    return (
        (b"ratelimit-limit", b"%d" % limit),
        (b"ratelimit-policy", b"%s;q=%d;w=%d" % (quoted, limit, window)),
        quoted + b";r=",
    )
