"""`provide_service`: a service dependency in one line, built on the request's unit of work."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bastion.db import UnitOfWork
from bastion.web._database import Uow

__all__ = ["provide_service"]

ServiceT = TypeVar("ServiceT")


def provide_service(
    service: Callable[..., ServiceT], *dependencies: object
) -> Callable[..., Awaitable[ServiceT]]:
    """Return a dependency that builds `service(uow, *resolved dependencies)` per request.

    ```python
    Widgets = Annotated[WidgetService, Depends(provide_service(WidgetService))]
    # a service that also takes the caller: NoteService(uow, principal)
    Notes = Annotated[NoteService, Depends(provide_service(NoteService, CurrentUser))]
    ```

    Args:
        service: The service class (or any factory) taking the request's
            `UnitOfWork` first.
        *dependencies: `Annotated` dependency aliases (`CurrentUser`,
            `AppSettings`, ...) whose values are passed after the unit of work,
            in this order.

    Returns:
        A dependency for `Depends(...)`; the unit of work is the request's
        own (`Uow`), committed before the response is sent.
    """
    uow_parameter = inspect.Parameter(
        "uow", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Uow
    )
    extra = [
        inspect.Parameter(f"dependency_{index}", inspect.Parameter.KEYWORD_ONLY, annotation=alias)
        for index, alias in enumerate(dependencies)
    ]

    # Async, so FastAPI calls it in the event loop rather than a worker thread.
    async def provider(uow: UnitOfWork, **resolved: object) -> ServiceT:
        return service(uow, *(resolved[parameter.name] for parameter in extra))

    # FastAPI reads the dependencies a callable needs from its signature.
    provider.__signature__ = inspect.Signature([uow_parameter, *extra])  # type: ignore[attr-defined]  # read by inspect.signature
    provider.__name__ = f"provide_{getattr(service, '__name__', 'service')}"
    return provider
