"""Serve the notes app (`python -m notes_app`) on one worker, as `make run` does.

Accounts are administered with bastion's own commands (`bastion users create-admin`),
which find this app through `[tool.bastion]` in the example's pyproject.toml.
"""

from __future__ import annotations

import os
import sys


def serve() -> int:
    """Serve one worker on HOST:PORT (127.0.0.1:8000 by default), as `bastion serve` does."""
    from bastion.cli import main as bastion

    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    return bastion(
        ["serve", "notes_app.main:app", "--workers", "1", "--host", host, "--port", port]
    )


if __name__ == "__main__":
    sys.exit(serve())
