"""The `bastion` command's entry point: the parser over every command group."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from bastion.cli import _db as db
from bastion.cli import _serve as serve
from bastion.cli import _users as users
from bastion.cli import _worker as worker

__all__ = ["main"]

#: Each group's name, help line, and the function adding its arguments; that function
#: sets the parser's `handler` default, which runs the parsed command.
_GROUPS: tuple[tuple[str, str, Callable[[argparse.ArgumentParser], None]], ...] = (
    ("db", db.HELP, db.configure),
    ("serve", serve.HELP, serve.configure),
    ("users", users.HELP, users.configure),
    ("worker", worker.HELP, worker.configure),
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bastion", description="bastion's command line.")
    groups = parser.add_subparsers(dest="group", required=True)
    for name, help_text, configure in _GROUPS:
        configure(groups.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `bastion GROUP ...` (`bastion db upgrade`, `bastion serve APP`, `bastion users ...`).

    Returns:
        The process exit status.
    """
    args = _parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)
