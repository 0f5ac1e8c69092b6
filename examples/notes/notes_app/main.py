"""The app factory of the notes service, and its module-level app for ASGI servers."""

from __future__ import annotations

from fastapi import FastAPI

from bastion import create_app
from notes_app.config import NotesSettings
from notes_app.events import notes_jobs
from notes_app.routers import api_routers


def create_notes_app(settings: NotesSettings | None = None) -> FastAPI:
    """Build the notes app; settings come from the environment when omitted."""
    settings = settings if settings is not None else NotesSettings()
    return create_app(settings, routers=api_routers(settings), jobs=notes_jobs())


def __getattr__(name: str) -> FastAPI:
    # `notes_app.main:app`, what `bastion serve`, uvicorn and gunicorn import, is built on
    # first access: importing the factory (tests, tools) reads no environment.
    if name == "app":
        app = create_notes_app()
        globals()["app"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
