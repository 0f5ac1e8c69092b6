"""Serve the notes app (`python -m notes_app`), or run a command (`create-admin`)."""

from __future__ import annotations

import os
import sys

import uvicorn


def serve() -> None:
    """Run the app under uvicorn on HOST:PORT (127.0.0.1:8000 by default)."""
    uvicorn.run(
        "notes_app.main:create_notes_app",
        factory=True,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
        log_config=None,  # bastion configures logging
        server_header=False,
        proxy_headers=False,  # trusted proxies are bastion's job, not uvicorn's
    )


def main(argv: list[str]) -> int:
    """Dispatch: no arguments serves; `create-admin --email ...` creates an admin."""
    if argv and argv[0] == "create-admin":
        from notes_app.admin import main as create_admin

        return create_admin(argv[1:])
    serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
