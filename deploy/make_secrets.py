"""Write the secrets compose.yaml mounts into deploy/secrets/: random ones, once.

`python deploy/make_secrets.py [DIRECTORY]` creates each missing file and keeps existing
ones: the signing key, the PostgreSQL and Redis passwords, and the two DSNs carrying those
passwords, so the app's URLs and the servers' passwords agree. The directory is never
committed (its .gitignore) nor sent to a Docker build (.dockerignore).
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

DEFAULT_DIRECTORY = Path(__file__).parent / "secrets"


def _file(directory: Path, name: str, new_value: str) -> str:
    """The secret in `directory/name`, written with `new_value` when missing."""
    path = directory / name
    if not path.exists():
        path.write_text(f"{new_value}\n")
        # Compose bind-mounts the file as it is, and the app runs as another user than the
        # one writing it here: the file is readable, the 0700 directory keeps others out.
        path.chmod(0o644)
    return path.read_text().strip()


def make_secrets(directory: Path = DEFAULT_DIRECTORY) -> None:
    """Create the missing secret files in `directory` (mode 0700)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    _file(directory, "secret_key", secrets.token_urlsafe(48))
    postgres = _file(directory, "postgres_password", secrets.token_urlsafe(24))
    redis = _file(directory, "redis_password", secrets.token_urlsafe(24))
    _file(directory, "database_url", f"postgresql+asyncpg://notes:{postgres}@postgres:5432/notes")
    _file(directory, "redis_url", f"redis://:{redis}@redis:6379/0")


if __name__ == "__main__":
    make_secrets(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIRECTORY)
