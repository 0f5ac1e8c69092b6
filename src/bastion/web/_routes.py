"""The app's routes, flattened through included routers, for OpenAPI statuses and start-up checks."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Protocol, cast

from fastapi import routing

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["DependencyNode", "OperationRoute", "api_routes", "depends_on", "operation_routes"]


class DependencyNode(Protocol):
    """One node of a route's dependency tree: the callable and what it depends on."""

    @property
    def call(self) -> Callable[..., object] | None:
        """The dependency (or endpoint) callable."""
        ...

    @property
    def dependencies(self) -> Sequence[DependencyNode]:
        """The sub-dependencies."""
        ...


class OperationRoute(Protocol):
    """What bastion reads of one documented route (an `APIRoute` or FastAPI's view of it)."""

    path_format: str
    methods: set[str] | None
    body_field: object

    @property
    def dependant(self) -> DependencyNode | None:
        """The route's dependency tree."""
        ...


def api_routes(app: FastAPI) -> list[OperationRoute]:
    """Every API route of `app`, with its full path (routers included, at any depth).

    Since FastAPI 0.137 an included router is one lazy entry in `app.routes`;
    `fastapi.routing.iter_route_contexts` (0.137.2) is FastAPI's walk through
    them for integrations, the one its own OpenAPI generator uses. On a
    FastAPI without it, `app.routes` holds the routes themselves.
    """
    iter_contexts = getattr(routing, "iter_route_contexts", None)
    candidates: Iterable[object] = (
        iter_contexts(app.routes) if iter_contexts is not None else app.routes
    )
    return [cast("OperationRoute", route) for route in candidates if hasattr(route, "dependant")]


def operation_routes(app: FastAPI) -> list[OperationRoute]:
    """Every documented API route of `app` (`api_routes` shown in the OpenAPI document)."""
    return [route for route in api_routes(app) if getattr(route, "include_in_schema", False)]


def depends_on(node: DependencyNode, predicate: Callable[[object], bool]) -> bool:
    """Whether `predicate` holds for any callable in the dependency tree under `node`."""
    seen: set[int] = set()
    pending = [node]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if predicate(current.call):
            return True
        pending.extend(current.dependencies)
    return False
