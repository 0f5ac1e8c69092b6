"""Alembic environment: bastion reads the database URL and schema from the settings."""

import notes_app.models  # noqa: F401  # registers its tables
from bastion.db import Base
from bastion.db.migrations import run_migrations
from notes_app.config import NotesSettings

run_migrations(Base.metadata, settings_factory=NotesSettings)
