"""The notes service's HTTP routers, mounted under the API prefix."""

from __future__ import annotations

from fastapi import APIRouter


def api_routers() -> list[APIRouter]:
    """Return every router the service mounts under `/api/v1`."""
    return []
