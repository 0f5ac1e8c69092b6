"""Serve the notes app: `python -m notes_app` (HOST and PORT from the environment)."""

from __future__ import annotations

import os

import uvicorn


def main() -> None:
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


if __name__ == "__main__":
    main()
