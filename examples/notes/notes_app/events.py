"""The notes service's domain events and their handlers."""

from __future__ import annotations

import logging
import uuid

from bastion.idempotency import prune_idempotency_records
from bastion.jobs import Event, JobContext, Jobs
from bastion.web import Resources
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


async def prune_idempotency(resources: Resources) -> int:
    """Delete expired `Idempotency-Key` records (run by the workers' maintenance)."""
    assert resources.engine is not None  # noqa: S101  # the notes app always has a database
    return await prune_idempotency_records(resources.engine)


def notes_jobs() -> Jobs:
    """The notes app's handlers and maintenance, on a fresh registry per app."""
    jobs = Jobs(OutboxMessage)
    jobs.on(NoteCreated, name="notes.log_created")(log_note_created)
    jobs.maintenance["idempotency_records"] = prune_idempotency
    return jobs
