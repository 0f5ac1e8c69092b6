"""Serve the notes app (`python -m notes_app`), or run a command (`create-admin`)."""

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


def main(argv: list[str]) -> int:
    """Dispatch: no arguments serves; `create-admin --email ...` creates an admin."""
    if argv and argv[0] == "create-admin":
        from notes_app.admin import main as create_admin

        return create_admin(argv[1:])
    return serve()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
