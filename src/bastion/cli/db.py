"""The `bastion` command: database migrations as a separate deployment step."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from alembic import command

from bastion.db.migrations import alembic_config

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bastion", description="bastion's command line.")
    groups = parser.add_subparsers(dest="group", required=True)
    db = groups.add_parser("db", help="Database migrations (Alembic).")
    actions = db.add_subparsers(dest="action", required=True)
    for name, help_text, default in (
        ("upgrade", "Apply migrations up to a revision.", "head"),
        ("downgrade", "Revert migrations down to a revision.", None),
        ("current", "Show the database's current revision.", None),
    ):
        action = actions.add_parser(name, help=help_text)
        action.add_argument(
            "--migrations",
            required=True,
            help="The migrations directory, or a package resource such as notes_app:migrations.",
        )
        if name != "current":
            action.add_argument(
                "revision", nargs="?" if default else None, default=default, help="Target revision."
            )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `bastion db upgrade|downgrade|current --migrations LOCATION [REVISION]`.

    The database URL and schema come from the app's settings (`BASTION_*`),
    read by the migrations' `env.py`.

    Returns:
        The process exit status.
    """
    args = _parser().parse_args(argv)
    config = alembic_config(args.migrations)
    if args.action == "upgrade":
        command.upgrade(config, args.revision)
    elif args.action == "downgrade":
        command.downgrade(config, args.revision)
    else:
        command.current(config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
