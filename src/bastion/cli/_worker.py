"""`bastion worker APP`: an arq worker for the app's events and jobs."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from bastion._resources import app_resources
from bastion.cli._target import HostError, load_app

__all__ = ["HELP", "configure", "run"]

HELP = "Run an arq worker: relay the app's outbox, run its handlers, prune on a schedule."


def configure(parser: argparse.ArgumentParser) -> None:
    """Add `bastion worker`'s arguments."""
    parser.add_argument(
        "app",
        metavar="APP",
        help="The app as module:attribute, an app or a factory (notes_app.main:create_notes_app).",
    )
    parser.add_argument(
        "--factory",
        action="store_true",
        help="APP is a callable returning the app (found by itself: a callable that is not an app).",
    )
    parser.add_argument(
        "--app-dir", default=".", help="Directory added to the import path (default: '.')."
    )
    parser.add_argument(
        "--burst", action="store_true", help="Stop once every due row and queued job has run."
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Work until SIGTERM or SIGINT (or, with `--burst`, until the queue is empty).

    Returns:
        The exit status: 0 after a clean stop, 1 when the app cannot be loaded,
        has no jobs or no Redis, or arq is not installed.
    """
    try:
        from bastion.jobs.worker import JobsWorker
    except ImportError:
        print("bastion worker needs arq: pip install 'bastion[jobs]'", file=sys.stderr)
        return 1
    sys.path.insert(0, os.path.abspath(args.app_dir))
    try:
        app = load_app(args.app, factory=True if args.factory else None)
    except (HostError, ImportError, AttributeError) as exc:  # the factory's own too
        print(f"bastion worker: cannot load {args.app}: {exc}", file=sys.stderr)
        return 1

    async def work() -> None:
        async with app.router.lifespan_context(app):
            resources = app_resources(app)
            if resources is None:
                raise RuntimeError(f"{args.app} is not built by bastion.create_app")
            async with JobsWorker(resources, burst=args.burst) as worker:
                await worker.run()

    try:
        asyncio.run(work())
    except RuntimeError as exc:
        print(f"bastion worker: {exc}", file=sys.stderr)
        return 1
    return 0
