"""`bastion db`: database migrations (Alembic) as a separate deployment step."""

from __future__ import annotations

import argparse

from bastion.db.migrations import alembic_config

__all__ = ["HELP", "configure", "run"]

HELP = "Database migrations (Alembic)."


def configure(parser: argparse.ArgumentParser) -> None:
    """Add `upgrade|downgrade|current --migrations LOCATION [REVISION]` to `bastion db`.

    The database URL and schema come from the app's settings (`BASTION_*`),
    read by the migrations' `env.py`.
    """
    actions = parser.add_subparsers(dest="action", required=True)
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
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the parsed `bastion db` command.

    Returns:
        The process exit status.
    """
    from alembic import command

    config = alembic_config(args.migrations)
    if args.action == "upgrade":
        command.upgrade(config, args.revision)
    elif args.action == "downgrade":
        command.downgrade(config, args.revision)
    else:
        command.current(config)
    return 0
