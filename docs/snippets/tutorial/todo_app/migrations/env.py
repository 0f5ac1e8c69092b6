"""Alembic environment: bastion reads the database URL and schema from the settings."""

import todo_app.app  # noqa: F401  # registers its tables
from bastion.db import Base
from bastion.db.migrations import run_migrations

run_migrations(Base.metadata)
