"""The notes service's repositories: SQL lives here and nowhere else."""

from __future__ import annotations

from bastion.db import BaseRepository
from notes_app.models import Note
from notes_app.schemas import NoteOut


class NoteRepository(BaseRepository[Note, NoteOut]):
    """Notes, read as `NoteOut`, newest first by default."""

    model = Note
    out = NoteOut
    default_sort = "-created_at"
    sortable = frozenset({"created_at", "updated_at", "title"})
