"""The app factory of the notes service."""

from __future__ import annotations

from fastapi import FastAPI

from bastion import create_app
from notes_app.config import NotesSettings
from notes_app.routers import api_routers


def create_notes_app(settings: NotesSettings | None = None) -> FastAPI:
    """Build the notes app; settings come from the environment when omitted."""
    settings = settings if settings is not None else NotesSettings()
    return create_app(settings, routers=api_routers(settings))
