"""`bastion users`: administer the accounts of any app that mounts bastion's auth router.

`create-admin`, `grant-role` and `deactivate` run the app's own lifespan, so they
use its settings, database, models, hooks and password policy. The password is
never a command-line argument (argv is visible to every user of the machine and
lands in shell history): it comes from `BASTION_ADMIN_PASSWORD`, else from
standard input (prompted without echo on a terminal).
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import re
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

import anyio
from pydantic import TypeAdapter, ValidationError

from bastion.auth import ADMIN_ROLE, AccountService, NormalizedEmail
from bastion.cli._failures import database_failure, one_line
from bastion.cli._host import auth_service, running
from bastion.cli._project import MissingSettingError, find_project
from bastion.cli._target import HostError, load_app
from bastion.db._driver_threads import driver_threads_finished
from bastion.errors import BastionError, NotFoundError

__all__ = ["HELP", "PASSWORD_VARIABLE", "configure", "run"]

HELP = "Accounts of an app using bastion's auth: create-admin, grant-role, deactivate."

#: The environment variable the new admin's password is read from, before stdin.
PASSWORD_VARIABLE = "BASTION_ADMIN_PASSWORD"  # noqa: S105 - a variable name, not a secret

_APP_HELP = (
    "The app as module:attribute, an app or a factory (notes_app.main:create_notes_app); "
    "default: BASTION_APP, then [tool.bastion] app in pyproject.toml."
)
_ROLE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_EMAIL: TypeAdapter[str] = TypeAdapter(NormalizedEmail)

#: An action: the service, the e-mail and the parsed arguments -> the line to print.
Action = Callable[[AccountService, str, argparse.Namespace], Awaitable[str]]


def _role(text: str) -> str:
    if not _ROLE.match(text):
        raise argparse.ArgumentTypeError("1-64 letters, digits, '_', '.', ':' or '-'")
    return text


def _email(text: str) -> str:
    try:
        return _EMAIL.validate_python(text)
    except ValidationError as exc:
        raise argparse.ArgumentTypeError("not a valid e-mail address") from exc


def read_password() -> str:
    """The new account's password: `BASTION_ADMIN_PASSWORD`, else stdin.

    Raises:
        ValueError: Neither gives a password.
    """
    password = os.environ.get(PASSWORD_VARIABLE)
    if not password:
        if sys.stdin.isatty():
            password = getpass.getpass("Password: ")
        else:
            password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise ValueError(f"no password: set {PASSWORD_VARIABLE} or write it on standard input")
    return password


async def _create_admin(service: AccountService, email: str, args: argparse.Namespace) -> str:
    if await service.repo.user_by_email(email) is not None:
        await service.grant_role(email, ADMIN_ROLE)
        return f"promoted admin {email}"
    await service.create_user(email, read_password(), roles=[ADMIN_ROLE])
    return f"created admin {email}"


async def _grant_role(service: AccountService, email: str, args: argparse.Namespace) -> str:
    await service.grant_role(email, args.role)
    return f"granted {args.role} to {email}"


async def _deactivate(service: AccountService, email: str, args: argparse.Namespace) -> str:
    user = await service.repo.user_by_email(email)
    if user is None:
        raise NotFoundError()
    await service.set_active(user.id, active=False)
    return f"deactivated {email} (every session revoked)"


_ACTIONS: dict[str, tuple[str, Action]] = {
    "create-admin": (
        "Create an admin account (password from BASTION_ADMIN_PASSWORD or stdin), "
        "or give an existing account the admin role.",
        _create_admin,
    ),
    "grant-role": ("Give an account a role.", _grant_role),
    "deactivate": ("Deactivate an account and revoke its sessions.", _deactivate),
}


def configure(parser: argparse.ArgumentParser) -> None:
    """Add `create-admin|grant-role|deactivate --email EMAIL [--app APP]` to `bastion users`."""
    actions = parser.add_subparsers(dest="action", required=True)
    for name, (help_text, _) in _ACTIONS.items():
        action = actions.add_parser(name, help=help_text, description=help_text)
        action.add_argument("--email", required=True, type=_email, help="The account's e-mail.")
        if name == "grant-role":
            action.add_argument("role", type=_role, help="The role to grant.")
        action.add_argument("--app", help=_APP_HELP)
    parser.set_defaults(handler=run)


@contextmanager
def _errors_only(name: str) -> Iterator[None]:
    """Let the `name` loggers through at ERROR and above while the block runs."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


async def _perform(reference: str, args: argparse.Namespace) -> str:
    _, action = _ACTIONS[args.action]
    app = load_app(reference)
    # The command reports its own outcome in one line. The lifespan's warnings are
    # about serving (in-process job dispatch, worker counts), not about the command,
    # and would come before that line; errors still show.
    with _errors_only("bastion"):
        async with (
            driver_threads_finished(),
            running(app) as resources,
            auth_service(resources) as service,
        ):
            return await action(service, args.email, args)


def _explain(exc: BaseException) -> str | None:
    """One line for an error the operator can act on; None for a bug (a traceback)."""
    if isinstance(exc, NotFoundError):
        return "no account has this e-mail"
    line = database_failure(exc)
    if line is not None:
        return line
    if isinstance(exc, BastionError):
        details = f" {exc.details}" if exc.details else ""
        return f"{exc.code}: {exc.message}{details}"
    if isinstance(exc, HostError | MissingSettingError | ValueError):
        return one_line(exc)
    return None


def run(args: argparse.Namespace) -> int:
    """Run the parsed `bastion users` command.

    Returns:
        The process exit status: 0 with one line on stdout, or 1 with one line
        on stderr.
    """
    try:
        project = find_project()
        reference = project.setting("app", option=args.app, variable="BASTION_APP")
        project.importable()
        print(anyio.run(_perform, reference, args))
    except Exception as exc:
        line = _explain(exc)
        if line is None:
            raise
        print(f"bastion users {args.action}: {line}", file=sys.stderr)
        return 1
    return 0
