"""The notes service's domain events and their handlers."""

from __future__ import annotations

import logging
import uuid

from bastion.jobs import Event, JobContext, Jobs
from notes_app.models import OutboxMessage

logger = logging.getLogger("notes_app.events")


class NoteCreated(Event):
    """A user created a note."""

    event_name = "note.created"
    event_version = 1

    note_id: uuid.UUID
    owner_id: uuid.UUID


async def log_note_created(event: NoteCreated, job: JobContext) -> None:
    """Write one line per created note (a stand-in for a search index or a webhook)."""
    logger.info(
        "note created",
        extra={
            "note_id": str(event.note_id),
            "owner_id": str(event.owner_id),
            "dedupe_key": str(job.dedupe_key),
        },
    )


def notes_jobs() -> Jobs:
    """The notes app's handlers, registered on a fresh registry per app."""
    jobs = Jobs(OutboxMessage)
    jobs.on(NoteCreated, name="notes.log_created")(log_note_created)
    return jobs
