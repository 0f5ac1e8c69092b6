"""`Event`: a domain event, a typed payload with a name and a version."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

__all__ = ["Event"]


class Event(BaseModel):
    """A domain event: what happened, as a typed, versioned, JSON-ready payload.

    ```python
    class NoteCreated(Event):
        event_name = "note.created"
        event_version = 1

        note_id: uuid.UUID
        owner_id: uuid.UUID
    ```

    A service records it on the request's unit of work (`uow.record(event)`);
    it reaches its handlers only if that transaction commits. Change a payload
    incompatibly by raising `event_version` (handlers see the version they get).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: The event's stable name, `noun.verb` (`note.created`).
    event_name: ClassVar[str]
    #: The payload's version; raise it when the payload changes incompatibly.
    event_version: ClassVar[int] = 1
