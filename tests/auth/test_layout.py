"""How the auth feature is built: collaborating services without FastAPI, composed not inherited."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from bastion.auth import AccountService, AuthRuntime, MfaService, SessionService

RULES = ["_accounts", "_sessions", "_mfa", "_runtime", "_repositories", "_mfa_repository"]


@pytest.mark.parametrize("module", RULES)
def test_the_services_and_their_sql_never_import_fastapi_or_starlette(module: str) -> None:
    path = Path(importlib.import_module(f"bastion.auth.{module}").__file__ or "")
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        for name in names:
            assert not name.startswith(("fastapi", "starlette", "bastion.web")), (
                f"{path.name} imports {name}"
            )


@pytest.mark.parametrize("service", [AccountService, SessionService, MfaService, AuthRuntime])
def test_each_service_is_one_class_sharing_its_collaborators_by_composition(
    service: type,
) -> None:
    assert service.__mro__ == (service, object)
