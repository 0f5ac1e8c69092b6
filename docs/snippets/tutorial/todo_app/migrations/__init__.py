"""Database migrations (Alembic), run by `bastion db`."""
