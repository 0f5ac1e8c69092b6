"""The login form: OAuth2's password grant fields, as Swagger's Authorize button sends them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form
from pydantic import AfterValidator

from bastion.auth._schemas import password_within_bytes
from bastion.security import MAX_PASSWORD_BYTES

__all__ = ["USERNAME_MAX_LENGTH", "LoginForm"]

#: The longest login `username` (an e-mail: 64 + 1 + 255, the RFC 3696 bound).
USERNAME_MAX_LENGTH = 320


class LoginForm:
    """`POST /login` form fields (`application/x-www-form-urlencoded`).

    The fields of FastAPI's `OAuth2PasswordRequestForm`, with `username` and
    `password` declared non-empty: FastAPI treats an empty form value as
    missing, so the OpenAPI document says so too, and a client (or a schema
    fuzzer) reading it knows that `username=` is a 422, not a login attempt.
    Both are bounded (`username` to 320 characters, `password` to 4,096 UTF-8
    bytes): longer ones are a 422 before anything is hashed or counted.
    """

    def __init__(
        self,
        *,
        username: Annotated[
            str,
            # NUL can be neither stored nor looked up in PostgreSQL text: a 422 here.
            Form(
                min_length=1,
                max_length=USERNAME_MAX_LENGTH,
                pattern=r"^[^\x00]*$",
                description="The account's e-mail.",
            ),
        ],
        password: Annotated[
            str,
            Form(
                min_length=1,
                max_length=MAX_PASSWORD_BYTES,
                json_schema_extra={"format": "password"},
            ),
            AfterValidator(password_within_bytes),
        ],
        grant_type: Annotated[str, Form(pattern="^password$")] = "password",
        scope: Annotated[str, Form()] = "",
        client_id: Annotated[str | None, Form()] = None,
        client_secret: Annotated[str | None, Form(json_schema_extra={"format": "password"})] = None,
    ) -> None:
        """Collect the form fields (`scope` is split on spaces into `scopes`)."""
        self.username = username
        self.password = password
        self.grant_type = grant_type
        self.scopes = scope.split()
        self.client_id = client_id
        self.client_secret = client_secret
