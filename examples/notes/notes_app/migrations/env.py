"""Alembic environment of the notes service: bastion does the work."""

import notes_app.models  # noqa: F401  # registers the notes tables on Base.metadata
from bastion.db import Base
from bastion.db.migrations import run_migrations
from notes_app.config import NotesSettings

run_migrations(Base.metadata, settings_factory=NotesSettings)
