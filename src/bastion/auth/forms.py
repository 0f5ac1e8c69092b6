"""The login form: OAuth2's password grant fields, as Swagger's Authorize button sends them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form

__all__ = ["LoginForm"]


class LoginForm:
    """`POST /login` form fields (`application/x-www-form-urlencoded`).

    The fields of FastAPI's `OAuth2PasswordRequestForm`, with `username` and
    `password` declared non-empty: FastAPI treats an empty form value as
    missing, so the OpenAPI document says so too, and a client (or a schema
    fuzzer) reading it knows that `username=` is a 422, not a login attempt.
    """

    def __init__(
        self,
        *,
        username: Annotated[
            # NUL can be neither stored nor looked up in PostgreSQL text: a 422 here.
            str, Form(min_length=1, pattern=r"^[^\x00]*$", description="The account's e-mail.")
        ],
        password: Annotated[str, Form(min_length=1, json_schema_extra={"format": "password"})],
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
