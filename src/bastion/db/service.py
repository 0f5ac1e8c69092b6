"""`Service`: the base of stateless services that run rules over one unit of work."""

from __future__ import annotations

from bastion.db.uow import UnitOfWork

__all__ = ["Service"]


class Service:
    """A stateless service: enforces rules and permissions, returns DTOs.

    Services get the request's `UnitOfWork` and build the repositories they
    need on its session; they never commit (the unit of work does) and never
    import FastAPI, so they run the same in a request, a script or a job.

    ```python
    class NoteService(Service):
        def __init__(self, uow: UnitOfWork) -> None:
            super().__init__(uow)
            self.notes = NoteRepository(uow.session)
    ```

    Attributes:
        uow: The unit of work the service's repositories share.
    """

    def __init__(self, uow: UnitOfWork) -> None:
        """Bind the service to a unit of work."""
        self.uow = uow
