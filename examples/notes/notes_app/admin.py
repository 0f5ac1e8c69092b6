"""`python -m notes_app create-admin --email ...`: create (or promote) an administrator.

The password is never a command-line argument (argv is visible to every user of
the machine and lands in shell history): it comes from `NOTES_ADMIN_PASSWORD`,
else from standard input (prompted without echo on a terminal).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import TextIO

import anyio
from sqlalchemy.exc import DBAPIError

from bastion.auth import ADMIN_ROLE, AuthKit, AuthService, EmailTakenError, UserOut
from bastion.core.errors import BastionError
from bastion.db import UnitOfWork, create_engine, create_sessionmaker
from bastion.ratelimit import RateLimiter, rate_limit_storage
from notes_app.config import NotesSettings
from notes_app.models import AUTH_MODELS

#: The environment variable the admin password is read from, before stdin.
PASSWORD_VARIABLE = "NOTES_ADMIN_PASSWORD"  # noqa: S105 - a variable name, not a secret


async def create_admin(settings: NotesSettings, email: str, password: str) -> tuple[str, UserOut]:
    """Create an admin account, or give the `admin` role to an existing one.

    Args:
        settings: The service settings (the database to write to).
        email: The account's e-mail.
        password: The new account's password (ignored when the account exists).

    Returns:
        `"created"` or `"promoted"`, and the account as it now is.

    Raises:
        WeakPasswordError: The password fails the policy.
    """
    engine = create_engine(settings)
    try:
        kit = AuthKit.from_settings(settings)
        limiter = RateLimiter(rate_limit_storage(None))
        async with UnitOfWork(create_sessionmaker(engine)) as uow:
            service = AuthService(uow, models=AUTH_MODELS, kit=kit, limiter=limiter)
            try:
                return "created", await service.create_user(email, password, roles=[ADMIN_ROLE])
            except EmailTakenError:
                await uow.rollback()
                return "promoted", await service.grant_role(email, ADMIN_ROLE)
    finally:
        await engine.dispose()


def read_password(stdin: TextIO) -> str:
    """The admin password from the environment, else from stdin."""
    from_env = os.environ.get(PASSWORD_VARIABLE)
    if from_env:
        return from_env
    if stdin.isatty():
        return getpass.getpass("Admin password: ")
    return stdin.readline().rstrip("\n")


def main(argv: list[str], *, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    """Run the command; returns the process exit status."""
    parser = argparse.ArgumentParser(prog="python -m notes_app create-admin")
    parser.add_argument("--email", required=True, help="The administrator's e-mail.")
    args = parser.parse_args(argv)
    password = read_password(stdin)
    try:
        outcome, user = anyio.run(create_admin, NotesSettings(), args.email, password)
    except BastionError as exc:
        stdout.write(f"error: {exc.code}: {exc.message} {exc.details or ''}\n")
        return 1
    except DBAPIError as exc:
        # Most often a database not migrated yet: say so in one line, not a traceback.
        stdout.write(
            f"error: the database refused the command ({type(exc.orig).__name__}); "
            "is it migrated? `bastion db upgrade --migrations notes_app:migrations`\n"
        )
        return 1
    stdout.write(f"{outcome} admin {user.email}\n")
    return 0
