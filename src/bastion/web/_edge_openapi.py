"""The statuses the edge stack can answer each operation with, for the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from bastion.core._paths import PathTable, any_prefix
from bastion.ratelimit import RateLimit
from bastion.web._routes import DependencyNode, OperationRoute, depends_on

if TYPE_CHECKING:
    from bastion.core import BastionSettings

__all__ = ["edge_statuses", "has_rate_limit"]


def has_rate_limit(dependant: DependencyNode) -> bool:
    """Whether a `RateLimit` dependency appears anywhere in the dependency tree."""
    return depends_on(dependant, lambda call: isinstance(call, RateLimit))


def edge_statuses(settings: BastionSettings) -> Callable[[OperationRoute], Iterable[int]]:
    """Map a route to the error statuses the edge may answer it with.

    413 where the route takes a body, 429 where a limit applies (the global
    one outside the exempt paths, or a `RateLimit` dependency), 503 there too
    when the limiter fails closed, 504 where a timeout applies and 400 when
    trusted hosts are checked.
    """
    timeouts = PathTable(settings.request_timeout, settings.request_timeout_routes)

    def statuses(route: OperationRoute) -> list[int]:
        codes: list[int] = []
        if route.body_field is not None:
            codes.append(413)
        limited = (route.dependant is not None and has_rate_limit(route.dependant)) or (
            settings.ratelimit_default is not None
            and not any_prefix(route.path_format, settings.ratelimit_exempt_paths)
        )
        if limited:
            codes.append(429)
            if not settings.ratelimit_fail_open:
                codes.append(503)
        if timeouts(route.path_format) > 0:
            codes.append(504)
        if settings.trusted_hosts:
            codes.append(400)
        return codes

    return statuses
