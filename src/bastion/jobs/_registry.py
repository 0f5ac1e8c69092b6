"""`Jobs`: the registry of event handlers and jobs, and the rows that ask for them."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel

from bastion.jobs._config import JobsConfig
from bastion.jobs._event import Event
from bastion.jobs._models import OutboxMixin

if TYPE_CHECKING:
    from bastion._resources import Resources
    from bastion.jobs._context import JobContext

__all__ = ["Handler", "Jobs", "Registered"]

P = TypeVar("P", bound=BaseModel)
E = TypeVar("E", bound=Event)

#: A handler: gets the payload (an event or a job's arguments) and its own context.
Handler = Callable[[P, "JobContext"], Awaitable[None]]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,199}$")


@dataclass(frozen=True, slots=True)
class Registered:
    """A registered handler: its name, the payload type it reads, the function."""

    name: str
    kind: str
    payload: type[BaseModel]
    function: Handler[BaseModel]


@dataclass(slots=True)
class Jobs:
    """Event handlers and jobs of an app, and where their outbox rows go.

    ```python
    jobs = Jobs(OutboxMessage)

    @jobs.on(NoteCreated)
    async def log_note(event: NoteCreated, job: JobContext) -> None: ...

    @jobs.job(WelcomeMail)
    async def send_welcome(mail: WelcomeMail, job: JobContext) -> None: ...
    ```

    Give it to `create_app(..., jobs=jobs)`. In a request, `uow.record(event)`
    writes one outbox row per handler of the event and `uow.enqueue(send_welcome,
    WelcomeMail(...))` one row for the job, in the request's transaction: a
    rolled-back request asks for nothing. Rows are dispatched after the commit:
    to arq workers (`bastion worker`) when `BASTION_REDIS_URL` is set, otherwise
    in the app's own process (development only).

    Args:
        model: The host's outbox model (`OutboxMixin` on its declarative base).
        config: Retries, leases, polling and retention.
    """

    model: type[OutboxMixin]
    config: JobsConfig = field(default_factory=JobsConfig)
    _handlers: dict[str, Registered] = field(default_factory=dict, init=False, repr=False)
    _by_event: dict[type[Event], list[Registered]] = field(
        default_factory=dict, init=False, repr=False
    )
    #: Extra maintenance run by `prune` next to the built-in deletes, by name: each
    #: task deletes what has expired and returns how many rows it deleted.
    maintenance: dict[str, Callable[[Resources], Awaitable[int]]] = field(default_factory=dict)
    #: Called after a commit that wrote rows (the in-process dispatcher wakes).
    wakers: list[Callable[[], None]] = field(default_factory=list)

    def on(self, event: type[E], *, name: str | None = None) -> Callable[[Handler[E]], Handler[E]]:
        """Register a handler of `event` (decorator); `name` defaults to the function's path."""
        if not isinstance(getattr(event, "event_name", None), str):
            raise TypeError(f"{event.__name__} needs an `event_name`, e.g. 'note.created'")

        def register(function: Handler[E]) -> Handler[E]:
            entry = self._register(function, "event", event, name)
            self._by_event.setdefault(event, []).append(entry)
            return function

        return register

    def job(
        self, arguments: type[P], *, name: str | None = None
    ) -> Callable[[Handler[P]], Handler[P]]:
        """Register a job taking `arguments` (decorator); `name` defaults to the function's path."""

        def register(function: Handler[P]) -> Handler[P]:
            self._register(function, "job", arguments, name)
            return function

        return register

    def _register(
        self,
        function: Handler[P],
        kind: str,
        payload: type[P],
        name: str | None,
    ) -> Registered:
        key = name or f"{function.__module__}.{function.__qualname__}"
        if not _NAME.fullmatch(key):
            raise ValueError(f"handler name {key!r} is not a dotted name of 1-200 characters")
        if key in self._handlers:
            raise ValueError(f"a handler named {key!r} is already registered")
        entry = Registered(key, kind, payload, function)  # type: ignore[arg-type]  # stored by name, called with its own payload type
        self._handlers[key] = entry
        return entry

    def handler(self, name: str) -> Registered | None:
        """The handler registered under `name`, if any."""
        return self._handlers.get(name)

    @property
    def handlers(self) -> tuple[Registered, ...]:
        """Every registered handler, in registration order."""
        return tuple(self._handlers.values())

    def event_rows(self, event: Event) -> list[OutboxMixin]:
        """One outbox row per handler of `event` (none without a handler)."""
        payload = event.model_dump(mode="json")
        rows = []
        for entry in self._by_event.get(type(event), ()):
            row = self._row("event", entry.name, payload)
            row.event_name, row.event_version = event.event_name, event.event_version
            rows.append(row)
        return rows

    def job_row(
        self, function: Callable[..., Awaitable[None]], arguments: BaseModel
    ) -> OutboxMixin:
        """The outbox row of one run of a registered job.

        Raises:
            LookupError: `function` is not a registered job.
            TypeError: `arguments` is not the job's argument type.
        """
        entry = next(
            (e for e in self._handlers.values() if e.function is function and e.kind == "job"),
            None,
        )
        if entry is None:
            raise LookupError(f"{function!r} is not a registered job: decorate it with @jobs.job")
        if type(arguments) is not entry.payload:
            raise TypeError(f"job {entry.name!r} takes {entry.payload.__name__}")
        return self._row("job", entry.name, arguments.model_dump(mode="json"))

    def _row(self, kind: str, name: str, payload: dict[str, object]) -> OutboxMixin:
        row = self.model()
        row.kind, row.name, row.payload = kind, name, payload
        return row

    def notify_committed(self) -> None:
        """Tell an in-process dispatcher that rows were committed (it wakes at once)."""
        for wake in self.wakers:
            wake()
