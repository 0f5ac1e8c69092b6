"""A tiny host app for `bastion users`: bastion's auth router on its own models, nothing else."""

from __future__ import annotations

from fastapi import FastAPI

from bastion import create_app
from bastion.auth import Auth
from bastion.core import BastionSettings
from tests.auth.models import MODELS


def create_host_app() -> FastAPI:
    """The app, its settings from the environment (`bastion users` calls this factory)."""
    return create_app(BastionSettings(), routers=[Auth(**MODELS).router])


def create_app_without_auth() -> FastAPI:
    """A bastion app that mounts no auth router."""
    return create_app(BastionSettings())


def create_app_missing_a_module() -> FastAPI:
    """A factory whose own import fails, as one with a missing dependency does."""
    raise ImportError("No module named 'a_dependency_not_installed'")
